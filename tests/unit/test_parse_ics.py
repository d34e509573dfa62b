"""The iCalendar parser on the two real feeds and on hand-written fixtures."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from observatory.parse import ParseError, ics
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
    return [dict(zip(COLUMNS, row, strict=True)) for row in ics.parse(feed(name), options)]


def by_uid(all_rows: list[dict], uid: str) -> list[dict]:
    return sorted((r for r in all_rows if r["event_uid"] == uid), key=lambda r: r["occurrence_start_utc"])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_raw_table_matches() -> None:
    assert ics.RAW_TABLE == "calendar_event"
    assert all(len(row) == len(COLUMNS) for row in ics.parse(feed("fablab_cottbus.ics"), {}))


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


def test_default_window_spans_the_written_dtstarts() -> None:
    fablab = rows("fablab_cottbus.ics")
    repair = by_uid(fablab, "ai1ec-1887@blog.fablab-cottbus.de")
    # last written DTSTART is 2018-10-21, so the open-ended rule stops at October's first Saturday
    assert [r["occurrence_start_utc"].date() for r in repair][-1] == date(2018, 10, 6)
    assert len(repair) == 10
    assert len(fablab) == 27 + 10
    machbar = rows("machbar_16_feb_2019.ics")
    assert min(r["occurrence_start_utc"] for r in machbar) == utc(2017, 6, 29, 17)
    assert max(r["occurrence_start_utc"] for r in machbar) == utc(2019, 6, 22, 9)


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


def test_invalid_date_rejects_the_whole_payload() -> None:
    with pytest.raises(ParseError, match=r"bad-date@example\.org.*DTSTART"):
        list(ics.parse(feed("invalid_date.ics"), {}))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff\xfeBEGIN:VCALENDAR", "not UTF-8"),
        (b"this is not a calendar", "not an iCalendar payload"),
        (b"BEGIN:VEVENT\r\nUID:x\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\n", "expected a VCALENDAR"),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:no-start@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "no-start@example.org: no DTSTART",
        ),
        (
            (
                b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:mars@example.org\r\n"
                b"DTSTART;TZID=Mars/Olympus:20250101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            ),
            "mars@example.org: DTSTART has unknown TZID",
        ),
    ],
)
def test_bad_payloads(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        list(ics.parse(payload, {}))


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
    moved = by_uid(rows("recurrence.ics"), "language-cafe@example.org")[-1]
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
