"""Reports and event pages as found in the wild, mutated: the document and event_page parsers yield rows (or
Rejected/Note records) or raise ParseError, nothing else (hypothesis: byte flips, truncation, lost and doubled
lines, stray bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observatory.parse import Note, ParseError, Rejected, document, event_page

PROJECT = Path(__file__).resolve().parents[2]
REPORTS = sorted((PROJECT / "sample_data" / "reports").glob("*.txt")) + sorted(
    (PROJECT / "tests" / "eval" / "documents").glob("*")
)
PAGES = sorted((PROJECT / "sample_data" / "events").glob("*pages/*.md"))


@st.composite
def mutated(draw: st.DrawFn, originals: list[Path]) -> bytes:
    payload = bytearray(draw(st.sampled_from(originals)).read_bytes()[:20_000])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "drop_line", "double_line", "insert"]))
        if not payload:
            break
        at = draw(st.integers(0, len(payload) - 1))
        if kind == "flip":
            payload[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del payload[at:]
        elif kind in ("drop_line", "double_line"):
            lines = bytes(payload).split(b"\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines[index : index + 1] = [] if kind == "drop_line" else [lines[index]] * 2
            payload = bytearray(b"\n".join(lines))
        else:
            payload[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(payload)


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
