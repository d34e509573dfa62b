"""The event-page parser on hand-written Hugo-style pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from observatory.parse import ParseError, event_page
from observatory.warehouse.raw_tables import RAW_TABLES

PROJECT = Path(__file__).resolve().parents[2]
PAGES = PROJECT / "tests" / "fixtures" / "events" / "pages"
COLUMNS = RAW_TABLES["calendar_event"].column_names
PRAGUE = {"timezone": "Europe/Prague"}


def page(name: str, **options: object) -> dict:
    [row] = event_page.parse((PAGES / name).read_bytes(), {**PRAGUE, "resource_name": name, **options})
    return dict(zip(COLUMNS, row, strict=True))


def parse_text(text: str, **options: object) -> dict:
    [row] = event_page.parse(text.encode(), {**PRAGUE, **options})
    return dict(zip(COLUMNS, row, strict=True))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_every_fixture_page_parses() -> None:
    names = sorted(p.name for p in PAGES.glob("*.md"))
    assert len(names) == 4
    assert all(page(name)["summary"] for name in names)
    assert event_page.RAW_TABLE == "calendar_event"


def test_winter_page() -> None:
    row = page("zizkov-neighbours-meetup.en.md", uid_prefix="demo-events:")
    assert row["event_uid"] == "demo-events:zizkov-neighbours-meetup.en"
    assert row["occurrence_start_utc"] == utc(2025, 1, 22, 17)  # 18:00 CET
    assert row["occurrence_end_utc"] == utc(2025, 1, 22, 19, 30)
    assert row["summary"] == "Neighbours’ Meetup – Žižkov Community Table"
    assert row["location"] == "Komunitní centrum Žižkov, Koněvova 1, 130 00 Praha 3-Žižkov"
    assert (row["original_tzid"], row["all_day"], row["status"], row["sequence"]) == (None, False, None, 0)
    assert (row["last_modified"], row["is_recurring"]) == (None, False)


def test_more_marker_is_stripped() -> None:
    description = page("zizkov-neighbours-meetup.en.md")["description"]
    assert "<!--" not in description
    assert description == (
        "Newcomers and long-time residents of Prague 3 are invited to a winter evening of tea, "
        "soup and conversation.\n\n"
        "We will map the “small things” that make the district easier to live in – from the "
        "library’s language corner to the Saturday repair table.\n**Everyone is welcome!**"
    )


def test_broken_more_marker_is_stripped() -> None:
    description = page("karlin-language-cafe.en.md")["description"]
    assert "<!--" not in description and "→" not in description
    assert description.startswith("Dear all,\n\nPractise Czech")
    assert "every table has a volunteer host.\n\nThe first drink is on us." in description


def test_summer_time_and_missing_dtend() -> None:
    row = page("letna-summer-picnic.en.md")
    assert row["occurrence_start_utc"] == utc(2025, 6, 14, 13)  # 15:00 CEST
    assert row["occurrence_end_utc"] == row["occurrence_start_utc"]


def test_day_after_the_switch_to_winter_time() -> None:
    row = page("karlin-language-cafe.en.md")
    assert (row["occurrence_start_utc"], row["occurrence_end_utc"]) == (
        utc(2025, 10, 26, 16),
        utc(2025, 10, 26, 18),
    )


def test_uid_without_resource_name_is_a_stable_hash() -> None:
    text = (PAGES / "city-grants-workshop.en.md").read_text()
    first, second = parse_text(text, uid_prefix="x:"), parse_text(text, uid_prefix="x:")
    assert first["event_uid"] == second["event_uid"]
    assert first["event_uid"].startswith("x:") and len(first["event_uid"]) == 2 + 16
    assert first["occurrence_start_utc"] == utc(2025, 3, 11, 16, 30)


def test_field_map_and_all_day_dates() -> None:
    row = parse_text(
        "---\nname: Open day\nbegins: 2025-05-01\nends: 2025-05-02\nwhere: Praha 7\n---\nBody\n",
        field_map={"start": "begins", "end": "ends", "title": "name", "location": "where"},
    )
    assert (row["summary"], row["location"], row["all_day"]) == ("Open day", "Praha 7", True)
    # the end date is the last day, inclusive
    assert (row["occurrence_start_utc"], row["occurrence_end_utc"]) == (
        utc(2025, 4, 30, 22),
        utc(2025, 5, 2, 22),
    )


def test_quoted_times_and_lastmod() -> None:
    row = parse_text("---\ntitle: T\ndtstart: '2025-02-01T10:00:00Z'\nlastmod: 2025-01-15T08:00:00Z\n---\n")
    assert (row["occurrence_start_utc"], row["original_tzid"]) == (utc(2025, 2, 1, 10), "UTC")
    assert row["last_modified"] == utc(2025, 1, 15, 8)
    assert row["description"] is None


def test_timezone_is_required() -> None:
    with pytest.raises(ValueError, match="timezone"):
        list(event_page.parse(b"---\ntitle: T\ndtstart: 2025-01-01T10:00:00\n---\n", {}))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff\xfe---", "not UTF-8"),
        (b"Just Markdown, no front matter.", "no front matter"),
        (b"---\ntitle: [unclosed\n---\n", "unreadable front matter"),
        (b"---\ntitle: T\n---\nbody", "'dtstart' is missing"),
        (b"---\ntitle: T\ndtstart: next Tuesday\n---\nbody", "'dtstart' is missing or not an ISO date/time"),
    ],
)
def test_bad_pages(payload: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=f"broken.en.md: .*{message}"):
        list(event_page.parse(payload, {**PRAGUE, "resource_name": "broken.en.md"}))


def roles(row: dict) -> list[tuple[str, str, str, str]]:
    return [(p["role"], p["city_name"], p["country_code"], p["resolved_from"]) for p in json.loads(row["places"])]


def test_prague_addresses_resolve_to_prague_not_their_district() -> None:
    for name in sorted(p.name for p in PAGES.glob("*.md")):
        assert roles(page(name)) == [("host", "Prague", "CZ", "location")], name
    assert json.loads(page("letna-summer-picnic.en.md")["places"])[0]["geonames_id"] == 3067696


CONFERENCE = """---
title: Integrating Cities Conference
dtstart: 2025-06-12T09:00:00
dtend: 2025-06-13T17:00:00
---
Mayors and officers from Ghent, Utrecht and Bergen meet to compare how their cities welcome newcomers.

Programme

12 June 2025

Plenary session – Welcoming communities

- 09:30 - 10:00 Registration
- 10:00 - 11:00 Opening by **Jane Roe**, Mayor of Patras
"""


def test_english_description_gives_host_speakers_and_participants() -> None:
    row = parse_text(CONFERENCE, text_language="en", default_city="Athens")
    assert roles(row) == [
        ("host", "Athens", "GR", "default_city"),
        ("participant", "Gent", "BE", "description"),
        ("participant", "Utrecht", "NL", "description"),
        ("participant", "Bergen", "NO", "description"),
        ("speaker_organisation", "Pátra", "GR", "description"),
    ]
    assert json.loads(row["places"])[-1]["organisation"] == "Mayor of Patras"


def test_mentions_are_read_only_in_english_text() -> None:
    assert roles(parse_text(CONFERENCE, default_city="Athens")) == [("host", "Athens", "GR", "default_city")]


def test_city_network_page_names_host_participants_and_speakers_cities() -> None:
    """The bundled city-network page (events_city_network_pages): Prague hosts, Bratislava's guests take part,
    officers of Prague, Vienna and Brno speak; Vienna and Brno, being speakers' cities, are not also participants."""
    name = "welcoming-cities-exchange.en.md"
    [row] = event_page.parse(
        (PAGES.parent / "network_pages" / name).read_bytes(),
        {**PRAGUE, "resource_name": name, "text_language": "en", "uid_prefix": "city-network:"},
    )
    row = dict(zip(COLUMNS, row, strict=True))
    assert (row["event_uid"], row["occurrence_start_utc"], row["occurrence_end_utc"]) == (
        "city-network:welcoming-cities-exchange.en",
        utc(2025, 5, 15, 12),
        utc(2025, 5, 15, 15, 30),
    )
    assert roles(row) == [
        ("host", "Prague", "CZ", "location"),
        ("participant", "Bratislava", "SK", "description"),
        ("speaker_organisation", "Prague", "CZ", "description"),
        ("speaker_organisation", "Vienna", "AT", "description"),
        ("speaker_organisation", "Brno", "CZ", "description"),
    ]
    assert [place.get("organisation") for place in json.loads(row["places"])][2:] == [
        "Deputy Mayor of Prague",
        "Head of Integration, City of Vienna",
        "Mayor of Brno",
    ]
