"""The iCalendar parser on every calendar of a corpus nobody on the team wrote: the test calendars of the icalendar
(BSD) and python-recurring-ical-events (LGPL) projects, real exports from Google, Outlook/Exchange, Apple,
Thunderbird, Lotus Notes and others plus hand-made edge cases (tests/fixtures/events/ics_corpus, provenance in
tests/fixtures/events/SOURCES.md). Every calendar with a VEVENT yields rows (and rejected records with their
reasons): a VEVENT without a readable DTSTART is a row whose start is NULL with the reason, a series whose rule ends
before its DTSTART its written DTSTART; a calendar without VEVENT yields nothing; a file that is no calendar and holds
no complete VEVENT raises a stated ParseError; nothing else is ever raised."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from observatory.parse import Note, ParseError, Rejected, ics
from observatory.warehouse.raw_tables import RAW_TABLES

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "events" / "ics_corpus"
FILES = sorted(path.relative_to(CORPUS).as_posix() for path in CORPUS.rglob("*.ics"))
COLUMNS = RAW_TABLES["calendar_event"].column_names

# files that are no calendar and hold no complete VEVENT → what their ParseError says
NOT_A_CALENDAR = {
    "icalendar/fuzz_testcase_0_char_in_component_name.ics": "expected a VCALENDAR, found",
    "icalendar/fuzz_testcase_invalid_month.ics": "expected a VCALENDAR, found V (line 1)",
    "icalendar/fuzz_testcase_vtimezone_lone_cr.ics": "expected a VCALENDAR, found VTIMEZONE (line 1)",
    "icalendar/issue_178_component_with_invalid_name_represented.ics": "expected a VCALENDAR, found MYCOMP (line 1)",
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@cache
def parsed(name: str, **options: object) -> tuple[list[dict], list[Rejected], list[Note]]:
    """Rows (as dicts), rejected records and notes of one corpus calendar, read once per test run."""
    out = list(ics.parse((CORPUS / name).read_bytes(), options))
    assert all(isinstance(item, tuple | Rejected | Note) for item in out)
    rows = [dict(zip(COLUMNS, item, strict=True)) for item in out if isinstance(item, tuple)]
    return rows, [i for i in out if isinstance(i, Rejected)], [i for i in out if isinstance(i, Note)]


def vevents(name: str) -> int:
    """How many VEVENTs the calendar's text begins."""
    return len(re.findall(rb"^BEGIN:VEVENT\s*$", (CORPUS / name).read_bytes(), re.MULTILINE | re.IGNORECASE))


def has_vevent(name: str) -> bool:
    return vevents(name) > 0


def test_the_corpus_is_complete() -> None:
    assert len(FILES) == 210
    assert sum(name.startswith("icalendar/") for name in FILES) == 116
    assert set(NOT_A_CALENDAR) <= set(FILES)


@pytest.mark.parametrize("name", FILES)
def test_every_calendar_yields_rows_or_stated_rejections(name: str) -> None:
    if name in NOT_A_CALENDAR:
        with pytest.raises(ParseError) as raised:
            list(ics.parse((CORPUS / name).read_bytes(), {}))
        assert NOT_A_CALENDAR[name] in str(raised.value)
        assert "\n" not in str(raised.value)
        return
    rows, rejected, notes = parsed(name)
    for rejection in rejected:
        assert rejection.where.startswith("VEVENT #") and rejection.reason
        assert rejection.raw.upper().startswith("BEGIN:VEVENT")
        assert "\x00" not in rejection.raw
    for row in rows:
        assert row["event_uid"] and "\x00" not in row["event_uid"]
        start, end = row["occurrence_start_utc"], row["occurrence_end_utc"]
        if start is None:  # exactly one of start and its missing reason
            assert row["start_missing_reason"] and row["all_day"] is None
            assert end is None or end.utcoffset() == timedelta(0)
        else:
            assert row["start_missing_reason"] is None and isinstance(row["all_day"], bool)
            assert start.utcoffset() == timedelta(0) and end >= start
        assert row["status"] in (None, "CONFIRMED", "TENTATIVE", "CANCELLED")
        assert isinstance(row["is_recurring"], bool)
    keys = [(row["event_uid"], row["occurrence_start_utc"]) for row in rows]
    assert len(keys) == len(set(keys))
    if not has_vevent(name):
        assert not rows and not rejected
        assert any(note.note.startswith("no VEVENT in the calendar") for note in notes)
    else:
        assert rows, (rejected, notes)


def test_every_calendar_with_a_vevent_yields_rows() -> None:
    """The acceptance: every calendar with a VEVENT yields rows; those whose VEVENTs lack a readable DTSTART (RFC
    examples and library test snippets without DTSTART, DTSTART:INVALID-DATE) as rows without a start."""
    readable = [name for name in FILES if name not in NOT_A_CALENDAR and has_vevent(name)]
    assert len(readable) == 184
    assert [name for name in readable if not parsed(name)[0]] == []
    undated = [name for name in readable if any(row["occurrence_start_utc"] is None for row in parsed(name)[0])]
    assert len(undated) == 24
    reasons = {row["start_missing_reason"] for name in undated for row in parsed(name)[0]} - {None}
    assert {reason.split(":")[0] for reason in reasons} == {
        "no DTSTART",
        "unreadable DTSTART",
        "unreadable DTSTART line",
    }
    # every file that raises has no complete VEVENT: its VEVENT text, if any, never ends
    for name in NOT_A_CALENDAR:
        assert not re.search(rb"^END:VEVENT\s*$", (CORPUS / name).read_bytes(), re.MULTILINE | re.IGNORECASE)


def test_corpus_totals() -> None:
    """Calendars tried / loaded (with rows) / with rejected records, rows and rejected records, as measured."""
    readable = [name for name in FILES if name not in NOT_A_CALENDAR]
    results = [parsed(name) for name in readable]
    loaded = sum(bool(rows) for rows, _, _ in results)
    with_rejected = sum(bool(rejected) for _, rejected, _ in results)
    rows = sum(len(rows) for rows, _, _ in results)
    rejected = sum(len(rejected) for _, rejected, _ in results)
    assert (len(FILES), loaded, with_rejected, rows, rejected) == (210, 184, 2, 18463, 23)


def test_google_export_with_4778_events() -> None:
    rows, rejected, notes = parsed("rie/issue42.ics")
    assert (CORPUS / "rie/issue42.ics").read_bytes().count(b"BEGIN:VEVENT") == 4778
    assert (len(rows), len(rejected)) == (8788, 0)
    assert len({row["event_uid"] for row in rows}) == 4770  # 8 VEVENTs are overrides (RECURRENCE-ID) of others
    # CREATED:00001231T000000Z is not a property the model uses: the event loads
    uid = "EE987ECB4AF641C0A7F728A733A3741F00000000000000000000000000000000"
    assert [row["summary"] for row in rows if row["event_uid"] == uid]
    # TZID=Europe/lisbon (sic) is the IANA zone Europe/Lisbon, said once for its 46 VEVENTs
    [lisbon] = [note for note in notes if "Europe/lisbon" in note.note]
    assert lisbon.note.startswith("TZID 'Europe/lisbon' read as the IANA zone Europe/Lisbon: 46 VEVENTs")
    assert not any(row["event_uid"].startswith("sha256:") for row in rows)


def test_windows_tzid_with_and_without_vtimezone() -> None:
    # Exchange 2010: TZID=Eastern Standard Time with its VTIMEZONE; 17:00 EDT on 28 October 2024
    [row] = parsed("icalendar/issue_836_do_not_quote_tzid.ics")[0]
    assert (row["occurrence_start_utc"], row["original_tzid"]) == (utc(2024, 10, 28, 21), "Eastern Standard Time")
    # TZID=Pacific Standard Time, no VTIMEZONE for it: CLDR's America/Los_Angeles; weekly on Thursday 10:00
    rows, _, notes = parsed("rie/issue_107_omitting_last_event.ics")
    starts = sorted(row["occurrence_start_utc"] for row in rows)
    assert (starts[0], starts[-1], len(starts)) == (utc(2023, 1, 5, 18), utc(2023, 6, 8, 17), 23)  # PST, then PDT
    assert {row["original_tzid"] for row in rows} == {"Pacific Standard Time"}
    assert any("read as America/Los_Angeles, from a Windows zone name" in note.note for note in notes)


def test_display_name_tzid_with_its_vtimezone() -> None:
    [row] = parsed("icalendar/issue_237_fail_to_parse_timezone_with_non_ascii_tzid.ics")[0]
    assert (row["occurrence_start_utc"], row["original_tzid"]) == (utc(2017, 5, 11, 16, 30), "(UTC-03:00) Brasília")


def test_dtstart_given_twice_uses_the_first() -> None:
    rows, rejected, notes = parsed("icalendar/pacific_fiji.ics")
    [fiji] = [row for row in rows if row["event_uid"] == "noend123"]
    assert fiji["occurrence_start_utc"] == utc(2014, 8, 28, 20)  # 08:00 in the feed's custom_Pacific/Fiji (+12)
    assert not rejected
    assert any("DTSTART given 2 times with different values: the first is used" in n.note for n in notes)


def test_events_without_uid_get_stable_synthesised_uids() -> None:
    name = "rie/issue_15_duplicated_events.ics"  # three events without UID starting at the same time
    first = [row["event_uid"] for row in parsed(name)[0]]
    again = [item[0] for item in ics.parse((CORPUS / name).read_bytes(), {}) if isinstance(item, tuple)]
    assert first == again and len(set(first)) == 3
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}@observatory", uid) for uid in first)
    flagged = {note.where for note in parsed(name)[2] if note.note.endswith("synthesised from its content")}
    assert flagged == {f"UID {uid}" for uid in first}


def test_weekly_series_without_window_yields_many_rows() -> None:
    # Google export: weekly on Thursday 08:30 Berlin from 2019-02-28, open-ended; the last start written for a
    # recurring series is 2019-06-22, so without window the series runs to 2021-06-22
    rows = [
        r
        for r in parsed("rie/daylight_saving_time.ics")[0]
        if r["event_uid"] == "7g6502aejkun96i5fenfu6hvc1@google.com"
    ]
    starts = sorted(row["occurrence_start_utc"] for row in rows)
    # 121 Thursdays, less the one EXDATE removes (7 March 2019)
    assert (starts[0], starts[-1], len(starts)) == (utc(2019, 2, 28, 7, 30), utc(2021, 6, 17, 6, 30), 120)
    local = [start.astimezone(ZoneInfo("Europe/Berlin")) for start in starts]
    assert {(moment.weekday(), moment.hour, moment.minute) for moment in local} == {(3, 8, 30)}
    assert date(2019, 3, 7) not in {moment.date() for moment in local}


def test_series_whose_only_written_start_is_excluded_still_occurs() -> None:
    # weekly on Tuesday 16:15 Berlin until 2020-02-04 15:14:59Z (so not on 4 February); EXDATE removes the DTSTART
    # (the only start written) and eight more Tuesdays
    rows = parsed("rie/issue_20_exdate_ignored.ics")[0]
    assert sorted(row["occurrence_start_utc"] for row in rows) == [
        utc(2019, 10, 29, 15, 15), utc(2019, 11, 12, 15, 15), utc(2019, 12, 10, 15, 15), utc(2020, 1, 7, 15, 15),
        utc(2020, 1, 14, 15, 15), utc(2020, 1, 21, 15, 15), utc(2020, 1, 28, 15, 15),
    ]  # fmt: skip


def test_logical_date_window() -> None:
    rows, _, notes = parsed("rie/daylight_saving_time.ics", logical_date="2019-03-01")
    starts = [row["occurrence_start_utc"] for row in rows]
    assert min(starts) >= utc(2018, 2, 28, 23) and max(starts) < utc(2021, 3, 1, 23)
    assert any(note.note.startswith("occurrences starting 2018-03-01 to 2021-03-01 (Europe/Berlin)") for note in notes)


def test_same_start_of_one_uid_is_rejected_not_dropped() -> None:
    # overrides moved onto the time of another occurrence of the same series: rows are unique on (UID, start)
    rows, rejected, _ = parsed("rie/same_event_recurring_at_same_time.ics")
    assert len(rows) == 2 and len(rejected) == 4
    assert all("starts at the same time (the row key)" in r.reason for r in rejected)


def test_unexpandable_rules_load_their_written_starts() -> None:
    # FREQ=INVALID_TYPE_CAUSES_ERROR: the DTSTART only, nothing of the rule
    [row], rejected, notes = parsed("icalendar/issue_1081_invalid_rrule_freq.ics")
    assert (row["event_uid"], row["occurrence_start_utc"], row["occurrence_end_utc"], row["is_recurring"]) == (
        "test-123",
        utc(2025, 1, 1, 10),
        utc(2025, 1, 1, 10),
        True,
    )
    assert not rejected and any(n.note.startswith("RRULE 'FREQ=INVALID_TYPE_CAUSES_ERROR' not expanded") for n in notes)
    # UNTL=20191023 (sic): 14:00-15:00 in London (BST) on Thursday 1 August 2019, not the Thursdays after it
    [row], rejected, notes = parsed("rie/bad_rrule_missing_until_event.ics")
    assert (row["event_uid"], row["occurrence_start_utc"], row["occurrence_end_utc"], row["original_tzid"]) == (
        "blabla",
        utc(2019, 8, 1, 13),
        utc(2019, 8, 1, 14),
        "Europe/London",
    )
    assert not rejected and any("(cannot be expanded: ValueError: unknown parameter 'UNTL')" in n.note for n in notes)
    # RFC 7529: Chinese, Ethiopic and Hebrew rules, and a Gregorian one with SKIP=FORWARD (dateutil has no SKIP)
    rows, rejected, notes = parsed("icalendar/rfc_7529.ics")
    assert [(r["event_uid"], r["occurrence_start_utc"], r["occurrence_end_utc"], r["all_day"]) for r in rows] == [
        ("4.3.1", utc(2013, 2, 10), utc(2013, 2, 11), True),
        ("4.3.2", utc(2013, 9, 6), utc(2013, 9, 7), True),
        ("4.3.3", utc(2014, 2, 8), utc(2014, 2, 9), True),
        ("4.3.4", utc(2012, 2, 29), utc(2012, 3, 1), True),
    ]
    assert not rejected
    assert sum(" not expanded (RSCALE=" in n.note for n in notes) == 3
    assert any("not expanded (cannot be expanded: ValueError: unknown parameter 'SKIP')" in n.note for n in notes)


def test_an_impractical_duration_ends_as_rfc_5545_says() -> None:
    [row], rejected, [note, _window] = parsed("icalendar/invalid_duration.ics")
    assert (row["occurrence_start_utc"], row["occurrence_end_utc"]) == (utc(2024, 1, 1), utc(2024, 1, 1))
    assert not rejected
    assert note.note.startswith("DURATION 'P999999999999999999W' could not be read (Impractical iCalendar duration")
    assert note.note.endswith("as RFC 5545 defines for a VEVENT without DTEND or DURATION: its DATE-TIME start itself")


def test_calendars_ending_before_end_vcalendar_load_their_complete_vevents() -> None:
    # Exchange 2010, last line END:VCALENDARD: 12:00-12:30 in its VTIMEZONE Tokyo Standard Time (+09:00)
    [row], rejected, notes = parsed("icalendar/timezone_same_start_and_offset.ics")
    assert (row["occurrence_start_utc"], row["occurrence_end_utc"], row["original_tzid"]) == (
        utc(2017, 2, 24, 3),
        utc(2017, 2, 24, 3, 30),
        "Tokyo Standard Time",
    )
    assert not rejected
    assert (
        Note(
            "file",
            "ends before END:VCALENDAR: the VCALENDAR begun on line 1 has no END (line 23 'END:VCALENDARD' ends no "
            "component); its 1 complete VEVENT(s) are read",
        )
        in notes
    )
    # the icalendar project's "bad calendars": complete but empty VEVENTs, no END:VCALENDAR
    for name, count in [
        ("icalendar/small_bad_calendar.ics", 1),
        ("icalendar/big_bad_calendar.ics", 20),
        ("icalendar/pr_480_summary_with_colon.ics", 2),
    ]:
        rows, rejected, notes = parsed(name)
        # each VEVENT a row without a start; the 20 empty VEVENTs of the big one are one VEVENT 20 times over
        distinct = 1 if name.endswith("big_bad_calendar.ics") else count
        assert [row["start_missing_reason"] for row in rows] == ["no DTSTART"] * distinct
        assert [r.reason.split(":")[0] for r in rejected] == ["duplicate of VEVENT #20 (line 40)"] * (count - distinct)
        unended = f"ends before END:VCALENDAR: the VCALENDAR begun on line 1 has no END; its {count} complete"
        assert any(n.note.startswith(unended) for n in notes)


def test_vevents_without_a_vcalendar_or_in_an_unknown_component_are_read() -> None:
    [row], rejected, notes = parsed("icalendar/issue_178_custom_component_contains_other.ics")
    assert (row["event_uid"], row["occurrence_start_utc"], row["occurrence_end_utc"], row["all_day"]) == (
        "12345",
        utc(2015, 1, 22),
        utc(2015, 1, 23),
        True,
    )
    assert not rejected
    assert Note("file", "1 VEVENT(s) inside MYCOMPTOO, an unknown component, not in a VCALENDAR: read as in one") in (
        notes
    )
    [row], rejected, notes = parsed("icalendar/issue_82_expected_output.ics")  # a bare VEVENT with only an ATTACH
    assert (row["occurrence_start_utc"], row["start_missing_reason"], row["uid_synthesised"]) == (
        None,
        "no DTSTART",
        True,
    )
    assert not rejected
    assert Note("file", "1 VEVENT(s) without a VCALENDAR around them (the wrapper is missing): read as in one") in notes


def test_vevents_without_a_readable_dtstart_are_rows_with_the_reason() -> None:
    # DTSTART:INVALID-DATE: start, end and all_day NULL, the reason kept
    [row], rejected, _ = parsed("icalendar/broken_dtstart.ics")
    assert (row["event_uid"], row["occurrence_start_utc"], row["occurrence_end_utc"], row["all_day"]) == (
        "test-123",
        None,
        None,
        None,
    )
    assert row["start_missing_reason"] == "unreadable DTSTART: Expected datetime, date, or time. Got: 'INVALID-DATE'"
    assert not rejected
    # with a readable DTEND, the absolute end is kept (the start is not read from it)
    [row], _, _ = parsed("icalendar/issue_1081_invalid_start_valid_end.ics")
    assert (row["summary"], row["occurrence_start_utc"], row["occurrence_end_utc"]) == (
        "Test Event",
        None,
        utc(2025, 1, 2, 12),
    )
    # RFC 5545's RDATE examples have no DTSTART: one row each, their RDATEs not expanded
    rows, rejected, notes = parsed("icalendar/rfc_5545_RDATE_example.ics")
    assert [(r["event_uid"], r["occurrence_start_utc"], r["start_missing_reason"]) for r in rows] == [
        (str(uid), None, "no DTSTART") for uid in range(6)
    ]
    assert not rejected
    assert any("RDATE not expanded: no occurrence can be placed without a start" in n.note for n in notes)


def test_series_deleted_by_its_rule_keeps_its_written_start() -> None:
    """Confluence deletes a series with an UNTIL before its DTSTART (recurring_ical_events issue 117, where it
    yields nothing); RFC 5545 counts DTSTART as the first occurrence: the written DTSTART is the one row."""
    [row], rejected, notes = parsed("rie/issue_117_until_before_dtstart.ics")
    assert (row["summary"], row["occurrence_start_utc"], row["occurrence_end_utc"], row["all_day"]) == (
        "test123",
        utc(2023, 10, 2),
        utc(2023, 10, 9),
        True,
    )
    assert (row["is_recurring"], row["start_missing_reason"]) == (True, None)
    assert not rejected
    [note] = [n for n in notes if "UNTIL" in n.note]
    assert note.note.startswith(
        "RRULE 'FREQ=WEEKLY;UNTIL=20231001;INTERVAL=2;BYDAY=MO' ends (UNTIL) before its DTSTART, which is how "
        "Confluence deletes a series"
    )
    assert note.note.endswith("the written DTSTART is loaded as the rule's one occurrence")
