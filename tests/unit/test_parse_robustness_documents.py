"""Reports and event pages as found in the wild, mutated: the document and event_page parsers yield rows (or
Rejected/Note records) or raise ParseError, nothing else (hypothesis: byte flips, truncation, lost and doubled
lines, stray bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutations import damaged

from observatory.parse import Note, ParseError, Rejected, document, event_page

PROJECT = Path(__file__).resolve().parents[2]
REPORTS = sorted((PROJECT / "sample_data" / "reports").glob("*.txt")) + sorted(
    (PROJECT / "tests" / "eval" / "documents").glob("*")
)
PAGES = sorted((PROJECT / "sample_data" / "events").glob("*pages/*.md"))


@st.composite
def mutated(draw: st.DrawFn, originals: list[Path]) -> bytes:
    return damaged(draw, draw(st.sampled_from(originals)).read_bytes()[:20_000])


def only_rows_or_parse_error(parser, payload: bytes, options: dict) -> None:
    try:
        for parsed in parser.parse(payload, options):
            assert isinstance(parsed, tuple | Rejected | Note), type(parsed)
    except ParseError:
        pass


def test_the_corpora_are_there() -> None:
    assert len(REPORTS) >= 5 and len(PAGES) >= 5


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=mutated(REPORTS), media_type=st.sampled_from(["text/plain", "text/markdown", "text/html", None]))
def test_document_parser_on_mutated_reports(payload: bytes, media_type: str | None) -> None:
    only_rows_or_parse_error(document, payload, {"resource_name": "report.txt", "media_type": media_type})


@pytest.mark.parametrize("timezone", ["Europe/Prague"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=mutated(PAGES))
def test_event_page_parser_on_mutated_pages(payload: bytes, timezone: str) -> None:
    only_rows_or_parse_error(event_page, payload, {"resource_name": "page.en.md", "timezone": timezone})
