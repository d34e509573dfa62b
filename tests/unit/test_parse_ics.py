"""The iCalendar parser on the two real feeds and on hand-written fixtures."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from observatory.parse import Note, ParseError, Rejected, ics
from observatory.warehouse.raw_tables import RAW_TABLES

PROJECT = Path(__file__).resolve().parents[2]
COLUMNS = RAW_TABLES["calendar_event"].column_names
BERLIN = ZoneInfo("Europe/Berlin")


def feed(name: str) -> bytes:
    """A real feed from sample_data/events, or a hand-written one from tests/fixtures/events."""
    for folder in (PROJECT / "sample_data" / "events", PROJECT / "tests" / "fixtures" / "events"):
        if (folder / name).exists():
            return (folder / name).read_bytes()
    raise FileNotFoundError(name)


def rows(name: str, **options: object) -> list[dict]:
    """The rows (tuples) parse yields; its Rejected and Note records are left out."""
    return [dict(zip(COLUMNS, row, strict=True)) for row in ics.parse(feed(name), options) if isinstance(row, tuple)]


def by_uid(all_rows: list[dict], uid: str) -> list[dict]:
    return sorted((r for r in all_rows if r["event_uid"] == uid), key=lambda r: r["occurrence_start_utc"])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_raw_table_matches() -> None:
    assert ics.RAW_TABLE == "calendar_event"
    parsed = list(ics.parse(feed("fablab_cottbus.ics"), {}))
    assert all(len(row) == len(COLUMNS) for row in parsed if isinstance(row, tuple))
    assert all(isinstance(row, tuple | Note) for row in parsed)
    assert {dict(zip(COLUMNS, row, strict=True))["uid_synthesised"] for row in parsed if isinstance(row, tuple)} == {
        False
    }  # the feed's own UIDs


@pytest.mark.parametrize("name", ["fablab_cottbus.ics", "machbar_16_feb_2019.ics", "updates.ics"])
def test_natural_key_is_unique(name: str) -> None:
    keys = [(r["event_uid"], r["occurrence_start_utc"]) for r in rows(name)]
    assert len(keys) == len(set(keys)) > 0


def test_tzid_event_is_normalised_to_utc() -> None:
    [event] = by_uid(rows("fablab_cottbus.ics"), "ai1ec-1441@blog.fablab-cottbus.de")
    assert event["occurrence_start_utc"] == utc(2016, 12, 3, 13)  # 14:00 CET
    assert event["occurrence_end_utc"] == utc(2016, 12, 3, 18)
    assert event["occurrence_start_utc"].tzinfo is not None
    assert event["original_tzid"] == "Europe/Berlin"
    assert event["all_day"] is False
    assert event["summary"] == "Weihnachts Repair-Café"
    assert event["location"] == "FabLab Cottbus @ Walther-Pauer-Straße 5, 03044 Cottbus"
    assert event["description"].startswith("Es ist schon wieder Dezember! Wir können es auch kaum glauben…")
    assert "Glühwein" in event["description"]
    assert (event["status"], event["sequence"], event["last_modified"], event["is_recurring"]) == (
        None,
        0,
        None,
        False,
    )


def test_all_day_event_starts_at_local_midnight() -> None:
    [event] = by_uid(rows("fablab_cottbus.ics"), "ai1ec-1862@blog.fablab-cottbus.de")
    assert event["all_day"] is True
    assert event["original_tzid"] is None
    # 2018-06-09 00:00 in Europe/Berlin (the feed's X-WR-TIMEZONE) is 22:00 UTC the day before
    assert event["occurrence_start_utc"] == utc(2018, 6, 8, 22)
    assert event["occurrence_end_utc"] == utc(2018, 6, 9, 22)
    assert event["summary"] == "Lab geschlossen: Wir sind auf dem Karlstraßenfest"


def test_default_timezone_option_wins_over_x_wr_timezone() -> None:
    [event] = by_uid(rows("fablab_cottbus.ics", default_timezone="UTC"), "ai1ec-1862@blog.fablab-cottbus.de")
    assert event["occurrence_start_utc"] == utc(2018, 6, 9)


def test_folded_lines_are_unfolded() -> None:
    all_rows = rows("fablab_cottbus.ics")
    [closed] = by_uid(all_rows, "ai1ec-1862@blog.fablab-cottbus.de")
    assert closed["description"] == (
        "Wir sind auf dem Karlstraßenfest – kommt uns besuchen: "
        "https://www.facebook.com/events/297637247437414/\n"
        "Die Werkstatt bleibt am Samstag deswegen geschlossen."
    )
    repair = by_uid(all_rows, "ai1ec-1887@blog.fablab-cottbus.de")[0]
    assert repair["location"] == "FabLab Cottbus @ Walther-Pauer-Straße 5, 03044 Cottbus, Deutschland"


def test_monthly_first_saturday_is_expanded_inside_the_window() -> None:
    all_rows = rows("fablab_cottbus.ics", window_start="2018-01-01", window_end="2018-06-30")
    repair = by_uid(all_rows, "ai1ec-1887@blog.fablab-cottbus.de")
    assert [r["occurrence_start_utc"] for r in repair] == [
        utc(2018, 1, 6, 13),  # 14:00 CET
        utc(2018, 2, 3, 13),
        utc(2018, 3, 3, 13),
        utc(2018, 4, 7, 12),  # 14:00 CEST
        utc(2018, 5, 5, 12),
        utc(2018, 6, 2, 12),
    ]
    assert all(r["occurrence_start_utc"].astimezone(BERLIN).weekday() == 5 for r in repair)
    assert all(r["is_recurring"] and r["summary"] == "Repair Café" for r in repair)
    assert all(
        date(2018, 1, 1) <= r["occurrence_start_utc"].astimezone(BERLIN).date() <= date(2018, 6, 30) for r in all_rows
    )


def test_window_accepts_yaml_dates() -> None:
    as_text = rows("fablab_cottbus.ics", window_start="2018-01-01", window_end="2018-06-30")
    as_dates = rows("fablab_cottbus.ics", window_start=date(2018, 1, 1), window_end=date(2018, 6, 30))
    assert as_text == as_dates


def test_default_window_extends_recurring_series_past_their_written_start() -> None:
    fablab = rows("fablab_cottbus.ics")
    repair = by_uid(fablab, "ai1ec-1887@blog.fablab-cottbus.de")
    # written DTSTART 2018-01-06: without window_* or logical_date the open-ended rule runs 24 months past it
    starts = [r["occurrence_start_utc"].date() for r in repair]
    assert (starts[0], starts[-1], len(repair)) == (date(2018, 1, 6), date(2020, 1, 4), 25)
    assert len(fablab) == 27 + 25
    machbar = rows("machbar_16_feb_2019.ics")
    assert min(r["occurrence_start_utc"] for r in machbar) == utc(2017, 6, 29, 17)
    assert max(r["occurrence_start_utc"] for r in machbar) == utc(2021, 6, 22, 17)


def test_utc_event_keeps_utc_as_original_tzid() -> None:
    [event] = by_uid(rows("machbar_16_feb_2019.ics"), "4pudsugalsbuqetcfdns8demti@google.com")
    assert event["occurrence_start_utc"] == utc(2019, 2, 28, 19)
    assert event["occurrence_end_utc"] == utc(2019, 2, 28, 20)
    assert event["original_tzid"] == "UTC"
    assert event["summary"] == '"Bioökonomie-Tag"'
    assert event["status"] == "CONFIRMED"
    assert event["last_modified"] == utc(2019, 2, 26, 14, 56, 46)
    assert event["is_recurring"] is False


def test_exdate_removes_occurrences() -> None:
    all_rows = rows("machbar_16_feb_2019.ics", window_start="2019-02-25", window_end="2019-03-17")
    montessori = by_uid(all_rows, "7g6502aejkun96i5fenfu6hvc1@google.com")
    # weekly on Thursday 08:30 Berlin, EXDATE 2019-03-07
    assert [r["occurrence_start_utc"] for r in montessori] == [
        utc(2019, 2, 28, 7, 30),
        utc(2019, 3, 14, 7, 30),
    ]


def test_recurrence_id_overrides_are_applied() -> None:
    all_rows = rows("machbar_16_feb_2019.ics", window_start="2018-06-01", window_end="2019-03-31")
    # monthly on the 3rd Saturday until 2019-03-15; Dec, Jan and Feb moved by RECURRENCE-ID
    assert [r["occurrence_start_utc"] for r in by_uid(all_rows, "ome5r9735mpdoo3n6lpf8oi0c4@google.com")] == [
        utc(2018, 11, 17, 10),
        utc(2018, 12, 8, 10),
        utc(2019, 1, 27, 10),
        utc(2019, 2, 24, 10),
    ]
    # last Saturday until 2018-11-23: Jul and Aug excluded (EXDATE), Sep and Oct moved a week earlier
    last_saturday = by_uid(all_rows, "52uuaoruefesorque1gpjabr6t@google.com")
    assert [r["occurrence_start_utc"] for r in last_saturday] == [
        utc(2018, 6, 30, 9),
        utc(2018, 9, 22, 9),
        utc(2018, 10, 20, 9),
    ]
    assert all(r["is_recurring"] and r["original_tzid"] == "Europe/Berlin" for r in last_saturday)


def test_counted_weekly_rule_and_sequence() -> None:
    hackademy = by_uid(rows("machbar_16_feb_2019.ics"), "37jkbgv9regint2hqhlmd9risn@google.com")
    assert [r["occurrence_start_utc"] for r in hackademy] == [utc(2019, 3, day, 13) for day in (4, 5, 6, 11, 12, 13)]
    assert {r["sequence"] for r in hackademy} == {2}
    assert hackademy[0]["summary"] == "Open Health HACKademy - freie Termine"


def test_multi_day_all_day_event() -> None:
    [fair] = by_uid(rows("machbar_16_feb_2019.ics"), "05b6u5vfdih0cdr6q3msgemss2@google.com")
    assert (fair["all_day"], fair["original_tzid"]) == (True, None)
    assert (fair["occurrence_start_utc"], fair["occurrence_end_utc"]) == (
        utc(2018, 5, 25, 22),
        utc(2018, 5, 27, 22),
    )


def test_cancelled_events_are_kept() -> None:
    [forum] = by_uid(rows("updates.ics"), "cancelled-forum@example.org")
    assert forum["status"] == "CANCELLED"
    assert forum["occurrence_start_utc"] == utc(2025, 3, 5, 17)
    assert forum["original_tzid"] == "Europe/Prague"


def test_repeated_vevent_keeps_the_highest_sequence() -> None:
    [workshop] = by_uid(rows("updates.ics"), "moved-workshop@example.org")
    assert workshop["sequence"] == 2
    assert workshop["summary"] == "Grant-writing workshop (new time)"
    assert workshop["occurrence_start_utc"] == utc(2025, 3, 10, 13)
    assert workshop["last_modified"] == utc(2025, 2, 15, 9)


def test_equal_sequence_keeps_the_latest_last_modified() -> None:
    [cafe] = by_uid(rows("updates.ics"), "repeated-cafe@example.org")
    assert (cafe["location"], cafe["last_modified"]) == ("Room 2", utc(2025, 3, 12, 9))


def test_floating_time_uses_default_timezone_and_duration() -> None:
    [evening] = by_uid(rows("updates.ics", default_timezone="Europe/Berlin"), "floating-evening@example.org")
    assert evening["original_tzid"] is None
    assert (evening["occurrence_start_utc"], evening["occurrence_end_utc"]) == (
        utc(2025, 3, 20, 18),
        utc(2025, 3, 20, 20),
    )


def test_missing_dtend() -> None:
    all_rows = rows("updates.ics", default_timezone="Europe/Berlin")
    [open_day] = by_uid(all_rows, "open-day@example.org")
    assert (open_day["occurrence_start_utc"], open_day["occurrence_end_utc"]) == (
        utc(2025, 3, 31, 22),
        utc(2025, 4, 1, 22),
    )
    [instant] = by_uid(all_rows, "instant@example.org")
    assert instant["occurrence_end_utc"] == instant["occurrence_start_utc"] == utc(2025, 4, 2, 7)
    assert instant["sequence"] == 0


def test_invalid_date_is_a_row_without_start_or_end() -> None:
    found, rejected, notes = parsed(feed("invalid_date.ics"))
    good, bad = found
    assert (good["event_uid"], good["occurrence_start_utc"], good["start_missing_reason"]) == (
        "good-event@example.org",
        utc(2025, 2, 10, 9),
        None,
    )
    assert not rejected
    # DTSTART and DTEND on 31 February: start, end and all_day are NULL, the reason is kept, nothing is invented
    assert (bad["event_uid"], bad["summary"]) == ("bad-date@example.org", "An event on the 31st of February")
    assert (bad["occurrence_start_utc"], bad["occurrence_end_utc"], bad["all_day"], bad["original_tzid"]) == (
        None,
        None,
        None,
        None,
    )
    assert bad["start_missing_reason"] == "unreadable DTSTART: Wrong datetime format: 20250231T100000"
    where = "VEVENT #2 (line 11, UID bad-date@example.org)"
    assert Note(where, f"{bad['start_missing_reason']}: loaded as one row without a start (NULL, the reason in "
                "start_missing_reason)") in notes  # fmt: skip
    assert any(n.where == where and n.note.startswith("DTEND '20250231T120000' could not be read") for n in notes)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff\xfeBEGIN:VCALENDAR", "not UTF-8"),
        (b"this is not a calendar", "not an iCalendar payload"),
        (b"BEGIN:VTODO\r\nUID:x\r\nEND:VTODO\r\n", "expected a VCALENDAR, found VTODO"),
        (b"BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20250101T100000Z\r\n", "expected a VCALENDAR, found VEVENT"),
    ],
)
def test_bad_payloads(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        list(ics.parse(payload, {}))


def test_event_without_dtstart_is_one_row_with_its_reason() -> None:
    payload = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:no-start@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    [row, note] = list(ics.parse(payload, {}))
    assert row == (
        "no-start@example.org", None, None, None, None, None, None, None, None, 0, None, False, "[]", False,
        "no DTSTART",
    )  # fmt: skip
    assert note == Note(
        "VEVENT #1 (line 2, UID no-start@example.org)",
        "no DTSTART: loaded as one row without a start (NULL, the reason in start_missing_reason)",
    )


def test_unknown_tzid_is_read_in_the_default_zone_with_a_note() -> None:
    payload = (
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:mars@example.org\r\n"
        b"DTSTART;TZID=Mars/Olympus:20250101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    parsed = list(ics.parse(payload, {"default_timezone": "Europe/Berlin"}))
    [row] = [dict(zip(COLUMNS, r, strict=True)) for r in parsed if isinstance(r, tuple)]
    assert (row["occurrence_start_utc"], row["original_tzid"]) == (utc(2025, 1, 1, 9), "Mars/Olympus")
    assert (
        Note(
            "VEVENT #1 (line 2, UID mars@example.org)",
            "TZID 'Mars/Olympus' is no time zone we know and has no VTIMEZONE: read in Europe/Berlin",
        )
        in parsed
    )


def places(row: dict) -> list[tuple]:
    return [
        (p["role"], p["city_name"], p["geonames_id"], p["country_code"], p["resolved_from"])
        for p in json.loads(row["places"])
    ]


def test_rrule_exdate_rdate_and_recurrence_id_in_the_window() -> None:
    cafe = by_uid(
        rows("recurrence.ics", window_start="2025-03-01", window_end="2025-04-30"), "language-cafe@example.org"
    )
    # weekly on Thursday 17:00 Vienna, 6 times: 20 March excluded (EXDATE), 27 March cancelled by its
    # RECURRENCE-ID, 3 April moved to Friday 18:00; one extra date by RDATE (Wednesday 2 April 10:00)
    assert [(r["occurrence_start_utc"], r["status"]) for r in cafe] == [
        (utc(2025, 3, 6, 16), None),
        (utc(2025, 3, 13, 16), None),
        (utc(2025, 3, 27, 16), "CANCELLED"),
        (utc(2025, 4, 2, 8), None),  # 10:00 CEST
        (utc(2025, 4, 4, 16), None),
        (utc(2025, 4, 10, 15), None),  # 17:00 CEST
    ]
    assert cafe[4]["summary"] == "Language café (Friday this week)"
    assert cafe[4]["occurrence_end_utc"] == utc(2025, 4, 4, 18)
    assert all(r["is_recurring"] and r["sequence"] == 3 and r["original_tzid"] == "Europe/Vienna" for r in cafe)


def test_window_cuts_the_recurrence() -> None:
    cafe = by_uid(
        rows("recurrence.ics", window_start="2025-03-10", window_end="2025-04-03"), "language-cafe@example.org"
    )
    assert [r["occurrence_start_utc"].date() for r in cafe] == [date(2025, 3, 13), date(2025, 3, 27), date(2025, 4, 2)]


def test_folded_location_resolves_to_the_most_populous_city() -> None:
    first = by_uid(rows("recurrence.ics"), "language-cafe@example.org")[0]
    # folded inside "E|ingang"; "über den Hof" also names Hof (Bavaria), the address's city is larger
    assert first["location"] == (
        "Stadtteilzentrum Bassena, Schöpfwerk 29/14, 1120 Wien, Österreich – Eingang über den Hof"
    )
    assert places(first) == [("host", "Vienna", 2761369, "AT", "location")]
    # the override of 3 April carries no LOCATION (RFC 5545: an override replaces the instance)
    [moved] = [r for r in by_uid(rows("recurrence.ics"), "language-cafe@example.org") if r["summary"].endswith("week)")]
    assert (moved["location"], places(moved)) == (None, [])


def test_real_feed_locations_resolve_with_the_reports_gazetteer() -> None:
    fablab = rows("fablab_cottbus.ics", default_city="Cottbus", country_code="DE")
    [christmas] = by_uid(fablab, "ai1ec-1441@blog.fablab-cottbus.de")
    assert places(christmas) == [("host", "Cottbus", 2939811, "DE", "location")]
    [festival] = by_uid(fablab, "ai1ec-1862@blog.fablab-cottbus.de")  # LOCATION: Karlstraßenfest
    assert places(festival) == [("host", "Cottbus", 2939811, "DE", "default_city")]
    assert {p[1] for r in fablab for p in places(r)} == {"Cottbus", "Berlin"}  # Maker Faire Berlin
    machbar = rows("machbar_16_feb_2019.ics", default_city="Potsdam", country_code="DE")
    [bio] = by_uid(machbar, "4pudsugalsbuqetcfdns8demti@google.com")
    assert json.loads(bio["places"])[0]["timezone"] == "Europe/Berlin"
    assert {p[1] for r in machbar for p in places(r)} == {"Potsdam", "Berlin"}  # FEZ-Berlin


def test_places_are_empty_without_location_or_default_city() -> None:
    [instant] = by_uid(rows("updates.ics"), "instant@example.org")
    assert instant["places"] == "[]"


def test_unknown_default_city_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="default_city 'Nowhere Upon Sea'"):
        rows("updates.ics", default_city="Nowhere Upon Sea")


# --- record-level tolerance: what real calendars do, by class (issue 12) ---------------------------------------


def calendar(*events: str, before: str = "") -> bytes:
    """A VCALENDAR with ``before`` (components, properties) and one VEVENT per text of property lines."""
    blocks = "".join(f"BEGIN:VEVENT\n{event.strip()}\nEND:VEVENT\n" for event in events)
    before = f"{before.strip()}\n" if before.strip() else ""
    return f"BEGIN:VCALENDAR\nVERSION:2.0\n{before}{blocks}END:VCALENDAR\n".replace("\n", "\r\n").encode()


def parsed(payload: bytes, **options: object) -> tuple[list[dict], list[Rejected], list[Note]]:
    out = list(ics.parse(payload, options))
    assert all(isinstance(item, tuple | Rejected | Note) for item in out)
    rows_ = [dict(zip(COLUMNS, item, strict=True)) for item in out if isinstance(item, tuple)]
    return rows_, [i for i in out if isinstance(i, Rejected)], [i for i in out if isinstance(i, Note)]


def notes_of(notes: list[Note]) -> str:
    return "\n".join(f"{note.where}: {note.note}" for note in notes)


def test_one_bad_vevent_never_sinks_the_calendar() -> None:
    payload = calendar(
        "UID:first@example.org\nDTSTART:20250210T090000Z",
        "UID:bad@example.org\nDTSTART;TZID=Europe/Prague:20250230T100000\nSUMMARY:30 February",
        "UID:third@example.org\nDTSTART:20250212T090000Z",
    )
    found, rejected, _ = parsed(payload)
    assert [(row["event_uid"], row["occurrence_start_utc"], row["start_missing_reason"]) for row in found] == [
        ("first@example.org", utc(2025, 2, 10, 9), None),
        ("third@example.org", utc(2025, 2, 12, 9), None),
        ("bad@example.org", None, "unreadable DTSTART: Wrong datetime format: 20250230T100000"),
    ]
    assert not rejected


def test_properties_the_model_does_not_use_are_not_validated() -> None:
    payload = calendar(
        "UID:odd@example.org\nCREATED:00001231T000000Z\nDTSTAMP:20250230T120000Z\nX-ALT-DESC;FMTTYPE=:\n"
        'ATTENDEE;CN="unclosed:mailto:x@example.org\nGEO:north;south\nDTSTART:20250301T100000Z\nSUMMARY:Odd but fine'
    )
    [row], rejected, _ = parsed(payload)
    assert (row["event_uid"], row["occurrence_start_utc"], row["summary"]) == (
        "odd@example.org",
        utc(2025, 3, 1, 10),
        "Odd but fine",
    )
    assert not rejected


def test_unreadable_rdate_is_dropped_with_a_note_and_the_series_loads() -> None:
    payload = calendar(
        "UID:series@example.org\nDTSTART:20250303T100000Z\nRRULE:FREQ=WEEKLY;COUNT=3\n"
        "RDATE:20131210Z\nRDATE;VALUE=TIME:083000\nRDATE:20250305T100000Z"
    )
    found, rejected, notes = parsed(payload)
    assert sorted(row["occurrence_start_utc"] for row in found) == [
        utc(2025, 3, 3, 10),
        utc(2025, 3, 5, 10),
        utc(2025, 3, 10, 10),
        utc(2025, 3, 17, 10),
    ]
    assert not rejected
    text = notes_of(notes)
    assert "RDATE '20131210Z' is not a date, date-time or period: dropped" in text
    assert "RDATE '08:30:00' is not a date, date-time or period: dropped" in text or "083000" in text


def test_unreadable_exdate_rejects_the_series() -> None:
    payload = calendar("UID:series@example.org\nDTSTART:20250303T100000Z\nRRULE:FREQ=WEEKLY;COUNT=3\nEXDATE:2025031")
    found, [rejected], _ = parsed(payload)
    assert not found
    assert rejected.reason.startswith("unreadable EXDATE")


def test_event_without_uid_gets_a_stable_synthesised_uid() -> None:
    event = "DTSTAMP:{stamp}\nDTSTART:20250301T100000Z\nSUMMARY:Open day"
    first = parsed(calendar(event.format(stamp="20250101T000000Z")))
    again = parsed(calendar(event.format(stamp="20250222T080000Z")))  # re-exported: only DTSTAMP differs
    [row], [same] = first[0], again[0]
    assert row["event_uid"] == same["event_uid"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}@observatory", row["event_uid"])
    assert row["uid_synthesised"] is True
    assert (
        Note(
            f"UID {row['event_uid']}",
            f"VEVENT #1 (line 3, UID {row['event_uid']}): no UID in the VEVENT, synthesised from its content",
        )
        in first[2]
    )
    other = parsed(calendar(event.format(stamp="20250101T000000Z").replace("Open day", "Closed day")))[0][0]
    assert other["event_uid"] != row["event_uid"]


def test_windows_zone_name_without_vtimezone() -> None:
    payload = calendar(
        "UID:winter@example.org\nDTSTART;TZID=W. Europe Standard Time:20250115T100000",
        "UID:summer@example.org\nDTSTART;TZID=W. Europe Standard Time:20250715T100000",
    )
    found, _, notes = parsed(payload)
    assert [(row["occurrence_start_utc"], row["original_tzid"]) for row in found] == [
        (utc(2025, 1, 15, 9), "W. Europe Standard Time"),
        (utc(2025, 7, 15, 8), "W. Europe Standard Time"),
    ]
    assert "TZID 'W. Europe Standard Time' (no VTIMEZONE) read as Europe/Berlin, from a Windows zone name" in (
        notes_of(notes)
    )


def test_windows_display_names_quoted_or_not() -> None:
    payload = calendar(
        'UID:quoted@example.org\nDTSTART;TZID="(UTC-05:00) Eastern Time (US & Canada)":20250701T090000',
        "UID:unquoted@example.org\n"
        "DTSTART;TZID=(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna:20250115T100000",
    )
    found, rejected, notes = parsed(payload)
    assert [(row["event_uid"], row["occurrence_start_utc"], row["original_tzid"]) for row in found] == [
        ("quoted@example.org", utc(2025, 7, 1, 13), "(UTC-05:00) Eastern Time (US & Canada)"),
        ("unquoted@example.org", utc(2025, 1, 15, 9), "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"),
    ]
    assert not rejected
    text = notes_of(notes)
    assert "read as America/New_York, from the Windows display name of 'Eastern Standard Time'" in text
    assert "DTSTART with misquoted or empty parameters read leniently" in text


def test_misquoted_tzid_and_empty_parameters() -> None:
    payload = calendar(
        'UID:misquoted@example.org\nDTSTART;TZID="Europe/Berlin:20250115T100000',
        "UID:doubled@example.org\nDTSTART;;TZID=Europe/Berlin:20250116T100000",
    )
    found, rejected, _ = parsed(payload)
    assert [row["occurrence_start_utc"] for row in found] == [utc(2025, 1, 15, 9), utc(2025, 1, 16, 9)]
    assert {row["original_tzid"] for row in found} == {"Europe/Berlin"}
    assert not rejected


def test_a_non_iana_tzid_is_read_with_its_own_vtimezone_in_every_payload() -> None:
    def feed_with_offset(offset: str) -> bytes:
        vtimezone = (
            f"BEGIN:VTIMEZONE\nTZID:Office Time\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:{offset}\n"
            f"TZOFFSETTO:{offset}\nEND:STANDARD\nEND:VTIMEZONE"
        )
        return calendar("UID:office@example.org\nDTSTART;TZID=Office Time:20250115T100000", before=vtimezone)

    # icalendar caches VTIMEZONEs by TZID for the whole process: the second feed must still get its own
    [plus_three] = parsed(feed_with_offset("+0300"))[0]
    [minus_two] = parsed(feed_with_offset("-0200"))[0]
    assert (plus_three["occurrence_start_utc"], minus_two["occurrence_start_utc"]) == (
        utc(2025, 1, 15, 7),
        utc(2025, 1, 15, 12),
    )
    assert plus_three["original_tzid"] == "Office Time"


def test_dtstart_given_twice_uses_the_first_with_a_note() -> None:
    payload = calendar("UID:twice@example.org\nDTSTART:20250301T100000Z\nDTSTART:20250301T120000Z")
    [row], rejected, notes = parsed(payload)
    assert row["occurrence_start_utc"] == utc(2025, 3, 1, 10)
    assert not rejected
    assert "DTSTART given 2 times with different values: the first is used" in notes_of(notes)


def test_other_components_are_not_read() -> None:
    freebusy = "BEGIN:VFREEBUSY\nUID:fb\nDTSTART:20250302T000000Z\nDTEND:20250301T000000Z\nFREEBUSY:20250302T1000Z/x\n"
    payload = calendar(
        "UID:event@example.org\nDTSTART:20250301T100000Z\nBEGIN:VALARM\nTRIGGER:bogus\nEND:VALARM",
        before=freebusy + "END:VFREEBUSY\nBEGIN:VTODO\nDUE:never\nEND:VTODO",
    )
    [row], rejected, _ = parsed(payload)
    assert row["event_uid"] == "event@example.org" and not rejected


def test_true_duplicates_are_rejected_updates_are_not() -> None:
    event = "UID:dup@example.org\nDTSTART:20250301T100000Z\nSEQUENCE:{sequence}\nSUMMARY:{summary}"
    payload = calendar(
        event.format(sequence=1, summary="Copy"),
        event.format(sequence=1, summary="Copy"),
        event.format(sequence=0, summary="Older version"),
    )
    [row], [duplicate], notes = parsed(payload)
    assert (row["summary"], row["sequence"]) == ("Copy", 1)
    assert duplicate.where == "VEVENT #1 (line 3, UID dup@example.org)"
    assert duplicate.reason == (
        "duplicate of VEVENT #2 (line 9): same UID, RECURRENCE-ID, start, SEQUENCE and LAST-MODIFIED (identical text)"
    )
    assert "VEVENT #3 (line 15, UID dup@example.org): superseded by a later version" in notes_of(notes)


def test_conflicting_versions_are_rejected_not_merged() -> None:
    payload = calendar(
        "UID:moved@example.org\nDTSTART:20250301T100000Z\nSUMMARY:First",
        "UID:moved@example.org\nDTSTART:20250308T100000Z\nSUMMARY:Second",
    )
    [row], [conflict], _ = parsed(payload)
    assert (row["summary"], row["occurrence_start_utc"]) == ("Second", utc(2025, 3, 8, 10))
    assert conflict.reason.startswith("conflicts with VEVENT #2 (line 8): same UID, RECURRENCE-ID, SEQUENCE")
    assert "First" in conflict.raw


def test_weekly_series_without_window_runs_24_months_past_its_start() -> None:
    weekly = "UID:weekly@example.org\nDTSTART;TZID=Europe/Berlin:20250106T180000\nRRULE:FREQ=WEEKLY"
    found = parsed(calendar(weekly))[0]
    starts = [row["occurrence_start_utc"] for row in found]
    assert (starts[0], starts[-1], len(starts)) == (utc(2025, 1, 6, 17), utc(2027, 1, 4, 17), 105)
    # EXDATE on the only start written: the series still occurs
    excluded = parsed(calendar(weekly + "\nEXDATE;TZID=Europe/Berlin:20250106T180000"))[0]
    assert len(excluded) == 104 and excluded[0]["occurrence_start_utc"] == utc(2025, 1, 13, 17)


def test_window_from_the_logical_date() -> None:
    payload = calendar(
        "UID:weekly@example.org\nDTSTART:20200106T100000Z\nRRULE:FREQ=WEEKLY",
        "UID:long-ago@example.org\nDTSTART:20190301T100000Z",
    )
    found, _, notes = parsed(payload, logical_date="2026-01-15")
    starts = [row["occurrence_start_utc"] for row in found]
    assert {row["event_uid"] for row in found} == {"weekly@example.org"}
    assert (min(starts), max(starts)) == (utc(2025, 1, 20, 10), utc(2028, 1, 10, 10))
    assert (
        Note(
            "file",
            "occurrences starting 2025-01-15 to 2028-01-15 (UTC) are loaded: window from logical date 2026-01-15: "
            "12 months back, 24 ahead",
        )
        in notes
    )
    # window_start / window_end win over the logical date
    configured = parsed(payload, logical_date="2026-01-15", window_start="2025-06-01", window_end="2025-06-30")[0]
    assert len(configured) == 5


def test_status_is_upper_cased_or_null_with_a_note() -> None:
    payload = calendar(
        "UID:a@example.org\nDTSTART:20250301T100000Z\nSTATUS:Confirmed",
        "UID:b@example.org\nDTSTART:20250302T100000Z\nSTATUS:NEEDS-ACTION",
    )
    found, _, notes = parsed(payload)
    assert [row["status"] for row in found] == ["CONFIRMED", None]
    assert "STATUS 'NEEDS-ACTION' is not CONFIRMED, TENTATIVE or CANCELLED: read as NULL" in notes_of(notes)


def test_undecodable_bytes_reject_their_vevent_only() -> None:
    payload = calendar("UID:good@example.org\nDTSTART:20250301T100000Z", "UID:latin@example.org\nDTSTART:20250302T1")
    payload = payload.replace(b"DTSTART:20250302T1", b"DTSTART:20250302T100000Z\r\nSUMMARY:Caf\xe9")
    [row], [rejected], _ = parsed(payload)
    assert row["event_uid"] == "good@example.org"
    assert rejected.reason == "not UTF-8: the VEVENT has undecodable bytes"
    assert "Caf\ufffd" in rejected.raw


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n",
            "ends inside VCALENDAR (begun on line 1) before END:VCALENDAR: truncated?",
        ),
        (b"", "not an iCalendar payload"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n", "ends inside VEVENT (begun on line 2)"),
    ],
)
def test_payloads_that_are_no_calendar(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        list(ics.parse(payload, {}))


def test_a_calendar_without_vevent_yields_only_a_note() -> None:
    payload = b"BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:todo\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    assert list(ics.parse(payload, {})) == [Note("file", "no VEVENT in the calendar (1 VTODO): no rows")]


def test_bad_options_are_parse_errors() -> None:
    with pytest.raises(ParseError, match="option default_timezone: unknown time zone 'Mars/Olympus'"):
        rows("updates.ics", default_timezone="Mars/Olympus")
    with pytest.raises(ParseError, match="option logical_date"):
        rows("updates.ics", logical_date="yesterday")


# --- what publishers send: rows for what the feed says, nothing invented (issue 12, acceptance) -----------------


def test_an_unexpandable_rule_loads_the_written_starts_only() -> None:
    payload = calendar(
        "UID:fortnightly@example.org\nDTSTART:20250303T100000Z\nRRULE:FREQ=FORTNIGHTLY\nRDATE:20250305T100000Z",
        "UID:new-year@example.org\nDTSTART;VALUE=DATE:20250129\nRRULE:RSCALE=CHINESE;FREQ=YEARLY\nSUMMARY:New Year",
        "UID:typo@example.org\nDTSTART;TZID=Europe/Berlin:20250306T180000\nDTEND;TZID=Europe/Berlin:20250306T190000\n"
        "RRULE:FREQ=WEEKLY;UNTL=20250501;BYDAY=TH",
        "UID:gregorian@example.org\nDTSTART:20250310T100000Z\nRRULE:RSCALE=GREGORIAN;FREQ=WEEKLY;COUNT=3;SKIP=OMIT",
        "UID:cancelled@example.org\nDTSTART:20250311T100000Z\nRRULE:FREQ=NEVER\nEXDATE:2025031",
    )
    found, [rejected], notes = parsed(payload)
    assert [
        (r["event_uid"], r["occurrence_start_utc"], r["occurrence_end_utc"], r["all_day"], r["is_recurring"])
        for r in found
    ] == [
        # an unreadable FREQ: the DTSTART and the RDATE, nothing of the rule
        ("fortnightly@example.org", utc(2025, 3, 3, 10), utc(2025, 3, 3, 10), False, True),
        ("fortnightly@example.org", utc(2025, 3, 5, 10), utc(2025, 3, 5, 10), False, True),
        # RFC 7529 Chinese calendar: the written date, a day long
        ("new-year@example.org", utc(2025, 1, 29), utc(2025, 1, 30), True, True),
        # UNTL (sic): dateutil refuses the rule; 18:00-19:00 in Berlin
        ("typo@example.org", utc(2025, 3, 6, 17), utc(2025, 3, 6, 18), False, True),
        # RSCALE=GREGORIAN and SKIP=OMIT are RFC 7529's defaults: the rule expands
        ("gregorian@example.org", utc(2025, 3, 10, 10), utc(2025, 3, 10, 10), False, True),
        ("gregorian@example.org", utc(2025, 3, 17, 10), utc(2025, 3, 17, 10), False, True),
        ("gregorian@example.org", utc(2025, 3, 24, 10), utc(2025, 3, 24, 10), False, True),
    ]
    # an unreadable EXDATE still rejects its series: the written start may be the occurrence it cancels
    assert (rejected.where, rejected.reason) == (
        "VEVENT #5 (line 26, UID cancelled@example.org)",
        "unreadable EXDATE: Expected time, got: 2025031",
    )
    assert (
        Note(
            "VEVENT #1 (line 3, UID fortnightly@example.org)",
            "RRULE 'FREQ=FORTNIGHTLY' not expanded (unreadable: Expected frequency, got: FORTNIGHTLY): the written "
            "DTSTART and RDATEs are its occurrences, the rule's others are not loaded",
        )
        in notes
    )
    text = notes_of(notes)
    assert (
        "VEVENT #2 (line 9, UID new-year@example.org): RRULE 'RSCALE=CHINESE;FREQ=YEARLY' not expanded "
        "(RSCALE=CHINESE: a non-Gregorian calendar (RFC 7529), which the expansion does not know)" in text
    )
    assert (
        "VEVENT #3 (line 15, UID typo@example.org): RRULE 'FREQ=WEEKLY;BYDAY=TH;UNTL=20250501' not expanded (cannot "
        "be expanded: ValueError: unknown parameter 'UNTL')" in text
    )
    assert "gregorian@example.org" not in text


def test_an_unexpandable_rule_keeps_the_overrides_and_exdates() -> None:
    payload = calendar(
        "UID:series@example.org\nDTSTART:20250303T100000Z\nRRULE:FREQ=WEEKLY;UNTL=20250401\nRDATE:20250305T100000Z\n"
        "EXDATE:20250303T100000Z",
        "UID:series@example.org\nRECURRENCE-ID:20250310T100000Z\nDTSTART:20250311T100000Z\nSUMMARY:Moved",
    )
    found, rejected, _ = parsed(payload)
    # the DTSTART is cancelled by its EXDATE; the RDATE and the override (a start written in the feed) remain
    assert [(r["occurrence_start_utc"], r["summary"]) for r in found] == [
        (utc(2025, 3, 5, 10), None),
        (utc(2025, 3, 11, 10), "Moved"),
    ]
    assert not rejected


def test_an_unreadable_end_is_rfc_5545s_end_for_an_event_without_one() -> None:
    payload = calendar(
        "UID:huge@example.org\nDTSTART:20250301T100000Z\nDURATION:P999999999999999999W",
        "UID:all-day@example.org\nDTSTART;VALUE=DATE:20250302\nDTEND;VALUE=DATE:2025030",
        "UID:both@example.org\nDTSTART:20250303T100000Z\nDTEND:tomorrow\nDURATION:PT2H",
        "UID:far@example.org\nDTSTART:20250304T100000Z\nDURATION:P999999999D",
        "UID:empty@example.org\nDTSTART:20250305T100000Z\nDTEND:",
    )
    found, rejected, notes = parsed(payload, default_timezone="Europe/Berlin")
    assert not rejected
    assert [(r["event_uid"], r["occurrence_start_utc"], r["occurrence_end_utc"], r["all_day"]) for r in found] == [
        ("huge@example.org", utc(2025, 3, 1, 10), utc(2025, 3, 1, 10), False),  # a DATE-TIME start: that instant
        ("all-day@example.org", utc(2025, 3, 1, 23), utc(2025, 3, 2, 23), True),  # a DATE start: one day
        ("both@example.org", utc(2025, 3, 3, 10), utc(2025, 3, 3, 12), False),  # the DURATION is readable
        ("far@example.org", utc(2025, 3, 4, 10), utc(2025, 3, 4, 10), False),
        ("empty@example.org", utc(2025, 3, 5, 10), utc(2025, 3, 5, 10), False),
    ]
    rfc = "the published end is unknown, so the event ends as RFC 5545 defines for a VEVENT without DTEND or DURATION"
    assert (
        Note(
            "VEVENT #1 (line 3, UID huge@example.org)",
            "DURATION 'P999999999999999999W' could not be read (Impractical iCalendar duration: P999999999999999999W): "
            f"{rfc}: its DATE-TIME start itself",
        )
        in notes
    )
    assert (
        Note(
            "VEVENT #2 (line 8, UID all-day@example.org)",
            f"DTEND '2025030' could not be read (Expected time, got: 2025030): {rfc}: one day after its DATE start",
        )
        in notes
    )
    assert (
        Note(
            "VEVENT #3 (line 13, UID both@example.org)",
            "DTEND 'tomorrow' could not be read (Wrong date format tomorrow): ignored, the end is read from DURATION",
        )
        in notes
    )
    assert (
        Note(
            "VEVENT #4 (line 19, UID far@example.org)",
            "DURATION 'P999999999D' could not be read (its end is outside the dates a time can have, years 1 to 9999): "
            f"{rfc}: its DATE-TIME start itself",
        )
        in notes
    )
    assert (
        Note(
            "VEVENT #5 (line 24, UID empty@example.org)",
            f"DTEND '' could not be read (empty): {rfc}: its DATE-TIME start itself",
        )
        in notes
    )


def test_a_calendar_ending_before_end_vcalendar_loads_its_complete_vevents() -> None:
    complete = calendar("UID:a@example.org\nDTSTART:20250301T100000Z", "UID:b@example.org\nDTSTART:20250302T100000Z")
    cut = complete.removesuffix(b"END:VCALENDAR\r\n") + b"BEGIN:VEVENT\r\nUID:cut@example.org\r\nDTSTART:2025"
    found, [rejected], notes = parsed(cut)
    assert [(r["event_uid"], r["occurrence_start_utc"]) for r in found] == [
        ("a@example.org", utc(2025, 3, 1, 10)),
        ("b@example.org", utc(2025, 3, 2, 10)),
    ]
    assert rejected == Rejected(
        "VEVENT #3 (line 11, UID cut@example.org)",
        "no END:VEVENT: the payload ends inside it",
        "BEGIN:VEVENT\r\nUID:cut@example.org\r\nDTSTART:2025",
    )
    assert (
        Note(
            "file",
            "ends before END:VCALENDAR: the VCALENDAR begun on line 1 has no END; its 2 complete VEVENT(s) are read, "
            "the VEVENT begun on line 11, not ended, is rejected",
        )
        in notes
    )
    # a mistyped END line (Exchange 2010 in the icalendar corpus: END:VCALENDARD)
    mistyped = calendar("UID:a@example.org\nDTSTART:20250301T100000Z").replace(b"END:VCALENDAR", b"END:VCALENDARD")
    [row], rejected, notes = parsed(mistyped)
    assert (row["event_uid"], row["occurrence_start_utc"], rejected) == ("a@example.org", utc(2025, 3, 1, 10), [])
    assert (
        Note(
            "file",
            "ends before END:VCALENDAR: the VCALENDAR begun on line 1 has no END (line 7 'END:VCALENDARD' ends no "
            "component); its 1 complete VEVENT(s) are read",
        )
        in notes
    )
    # no complete VEVENT: nothing saves the file
    with pytest.raises(ParseError, match=re.escape("ends inside VEVENT (begun on line 3) before END:VCALENDAR")):
        list(ics.parse(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:cut@example.org\r\n", {}))


def test_vevents_without_a_vcalendar_or_in_an_unknown_wrapper_are_read() -> None:
    bare = b"BEGIN:VEVENT\r\nUID:bare@example.org\r\nDTSTART:20250301T100000Z\r\nEND:VEVENT\r\n"
    [row], rejected, notes = parsed(bare)
    assert (row["event_uid"], row["occurrence_start_utc"], rejected) == ("bare@example.org", utc(2025, 3, 1, 10), [])
    assert Note("file", "1 VEVENT(s) without a VCALENDAR around them (the wrapper is missing): read as in one") in notes
    wrapped = (
        b"BEGIN:X-CONTAINER\r\nX-WR-TIMEZONE:Europe/Berlin\r\nBEGIN:VEVENT\r\nUID:inner@example.org\r\n"
        b"DTSTART:20250301T100000\r\nEND:VEVENT\r\nEND:X-CONTAINER\r\n"
    )
    [row], rejected, notes = parsed(wrapped)
    # the wrapper's properties are the calendar's: the floating 10:00 is Berlin's
    assert (row["event_uid"], row["occurrence_start_utc"], rejected) == ("inner@example.org", utc(2025, 3, 1, 9), [])
    assert Note("file", "1 VEVENT(s) inside X-CONTAINER, an unknown component, not in a VCALENDAR: read as in one") in (
        notes
    )
    with pytest.raises(ParseError, match=re.escape("expected a VCALENDAR, found MYCOMP (line 1)")):
        list(ics.parse(b"BEGIN:MYCOMP\r\nEND:MYCOMP\r\n", {}))


def test_vevents_without_a_readable_dtstart_are_rows_without_a_start() -> None:
    payload = calendar(
        "UID:when@example.org\nSUMMARY:When?\nDTSTAMP:20250101T000000Z\nCREATED:20250101T000000Z\nDURATION:PT1H",
        "UID:invalid@example.org\nDTSTART:INVALID-DATE\nDTEND:20250301T100000Z\nRRULE:FREQ=DAILY;COUNT=3",
        "UID:line@example.org\nDTSTART",
    )
    found, rejected, notes = parsed(payload)
    # no time is invented: not from DTSTAMP or CREATED, not from a DURATION; an absolute DTEND is kept
    assert [
        (
            r["event_uid"],
            r["occurrence_start_utc"],
            r["occurrence_end_utc"],
            r["is_recurring"],
            r["start_missing_reason"],
        )
        for r in found
    ] == [
        ("when@example.org", None, None, False, "no DTSTART"),
        (
            "invalid@example.org",
            None,
            utc(2025, 3, 1, 10),
            True,
            "unreadable DTSTART: Expected datetime, date, or time. Got: 'INVALID-DATE'",
        ),
        ("line@example.org", None, None, False, "unreadable DTSTART line: 'DTSTART'"),
    ]
    assert not rejected
    text = notes_of(notes)
    assert "VEVENT #1 (line 3, UID when@example.org): DURATION without a start gives no end: ignored" in text
    assert "VEVENT #2 (line 10, UID invalid@example.org): RRULE not expanded: no occurrence can be placed" in text


def test_vevents_without_a_start_are_kept_once_per_uid() -> None:
    payload = calendar(
        "UID:copy@example.org\nSUMMARY:Copy",
        "UID:copy@example.org\nSUMMARY:Copy",
        "UID:moved@example.org\nRECURRENCE-ID:20250301T100000Z\nSUMMARY:First, time unknown",
        "UID:moved@example.org\nRECURRENCE-ID:20250308T100000Z\nSEQUENCE:1\nSUMMARY:Second, time unknown",
    )
    found, rejected, _ = parsed(payload)
    assert [(r["event_uid"], r["summary"], r["occurrence_start_utc"]) for r in found] == [
        ("copy@example.org", "Copy", None),
        ("moved@example.org", "Second, time unknown", None),  # SEQUENCE 1: the later version keeps the row key
    ]
    assert [(r.where, r.reason) for r in rejected] == [
        (
            "VEVENT #1 (line 3, UID copy@example.org)",
            "duplicate of VEVENT #2 (line 7): same UID, RECURRENCE-ID, start, SEQUENCE and LAST-MODIFIED (identical "
            "text)",
        ),
        (
            "VEVENT #3 (line 11, UID moved@example.org) without a start",
            "another VEVENT of the UID, VEVENT #4 (line 16), has no start either (the row key)",
        ),
    ]
