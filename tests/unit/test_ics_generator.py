"""The synthetic city-network calendar (``observatory_dev.generators.ics``): deterministic, folded as RFC 5545
says, and holding exactly the rows it claims once the real iCalendar parser reads it."""

from __future__ import annotations

from pathlib import Path

from observatory.parse import Note, Rejected, ics
from observatory.warehouse.raw_tables import RAW_TABLES
from observatory_dev.generators.ics import WINDOW_END, WINDOW_START, fold, write_ics

OPTIONS = {
    "default_timezone": "Europe/Berlin",
    "window_start": WINDOW_START.isoformat(),
    "window_end": WINDOW_END.isoformat(),
    "country_code": "DE",
    "default_city": "Berlin",
}
COLUMNS = RAW_TABLES["calendar_event"].column_names


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    first, again, other = tmp_path / "a.ics", tmp_path / "b.ics", tmp_path / "c.ics"
    assert write_ics(first, 300) == write_ics(again, 300)
    write_ics(other, 300, seed=7)
    assert first.read_bytes() == again.read_bytes() != other.read_bytes()


def test_lines_are_folded_at_75_octets_never_inside_a_character(tmp_path: Path) -> None:
    path = tmp_path / "feed.ics"
    write_ics(path, 200)
    physical = path.read_bytes().split(b"\r\n")
    assert physical[-1] == b"" and all(len(line) <= 75 for line in physical)
    assert all(line.decode("utf-8") for line in physical[:-1])  # each piece decodes alone: no split character
    assert any(line.startswith(b" ") for line in physical)  # long DESCRIPTIONs were folded
    long = "DESCRIPTION:" + "Göteborg, Praha; Wien " * 20
    assert fold(long).replace("\r\n ", "") == long + "\r\n"


def test_the_parser_yields_the_rows_the_feed_claims(tmp_path: Path) -> None:
    path = tmp_path / "feed.ics"
    truth = write_ics(path, 1200)
    items = list(ics.parse(path.read_bytes(), OPTIONS))
    rows = [item for item in items if not isinstance(item, Rejected | Note)]
    assert [item for item in items if isinstance(item, Rejected)] == []
    assert len(rows) == truth.rows and truth.undated == 1
    start, reason, uid, recurring = (
        COLUMNS.index(name) for name in ("occurrence_start_utc", "start_missing_reason", "event_uid", "is_recurring")
    )
    assert len({row[uid] for row in rows}) == truth.events
    assert (
        len({row[uid] for row in rows if row[recurring]})
        == truth.recurring
        == path.read_text().count("\nRRULE:FREQ=WEEKLY")
    )
    assert [row[reason] for row in rows if row[start] is None] == ["no DTSTART"] * truth.undated
