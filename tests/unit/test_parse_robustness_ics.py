"""Real calendars mutated: the iCalendar parser yields rows, Rejected and Note records or raises ParseError, nothing
else (hypothesis: byte flips, truncation, lost and doubled lines, stray bytes, random bytes). The originals are the
calendars of tests/fixtures/events/ics_corpus (see tests/fixtures/events/SOURCES.md) below 40 kB, and the project's
own feeds; the examples are derandomised, so a run is reproducible."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutations import damaged

from observatory.parse import Note, ParseError, Rejected, ics
from observatory.warehouse.raw_tables import RAW_TABLES

PROJECT = Path(__file__).resolve().parents[2]
CORPUS = PROJECT / "tests" / "fixtures" / "events" / "ics_corpus"
ORIGINALS = sorted(
    path
    for path in [*CORPUS.rglob("*.ics"), *(PROJECT / "tests" / "fixtures" / "events").glob("*.ics")]
    if path.stat().st_size < 40_000
)
WIDTH = len(RAW_TABLES["calendar_event"].columns)


def test_the_originals_are_many() -> None:
    assert len(ORIGINALS) >= 200
    assert CORPUS / "rie" / "daylight_saving_time.ics" in ORIGINALS


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    return damaged(draw, draw(st.sampled_from(ORIGINALS)).read_bytes())


def only_rows_or_parse_error(payload: bytes) -> None:
    try:
        for parsed in ics.parse(payload, {}):
            assert isinstance(parsed, tuple | Rejected | Note), type(parsed)
            if isinstance(parsed, tuple):
                assert len(parsed) == WIDTH
            elif isinstance(parsed, Rejected):
                assert parsed.reason and parsed.where
    except ParseError as error:
        assert str(error) and "\n" not in str(error)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(payload=mutated())
def test_ics_on_mutated_calendars(payload: bytes) -> None:
    only_rows_or_parse_error(payload)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.binary(max_size=2_000))
def test_ics_on_random_bytes(payload: bytes) -> None:
    only_rows_or_parse_error(payload)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.text(max_size=400))
def test_ics_on_random_text_inside_a_calendar(body: str) -> None:
    only_rows_or_parse_error(f"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{body}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".encode())
