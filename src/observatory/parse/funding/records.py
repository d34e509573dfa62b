"""Text lines → records: the CSV records of a funding list, its header row, and one ``CellRecord`` per data record."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence

from observatory.parse import ParseError, Rejected
from observatory.parse.funding.cells import FIELDS, CellRecord, clean_text, storable, unstorable_cell

HEADER_SEARCH = 20  # records searched for the header row


def csv_records(text: Iterable[str], delimiter: str) -> Iterator[tuple[int, str, list[str]]]:
    """(first line number, raw text, fields) of each CSV record of the ``text`` lines (their line endings as in the
    file); ParseError when the CSV cannot be read on."""
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in text:
            consumed.append(line)
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    line = 1
    try:
        for record in reader:
            raw = "".join(consumed).rstrip("\r\n")
            consumed.clear()
            yield line, raw, record
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ParseError(f"malformed CSV near line {reader.line_num}: {exc}") from exc


def _normalise_header(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split()).casefold()


def find_header(
    records: Iterable[tuple[int, str, list[str]]], columns: Mapping[str, str]
) -> tuple[int, list[str], int]:
    """(line, cells, records skipped) of the header row: the first of the first records holding every configured
    header; ParseError (naming the missing header) when none does."""
    wanted = {_normalise_header(h) for h in columns.values()}
    first: list[str] | None = None
    seen = 0
    for line, _, record in records:
        if not any(cell.strip() for cell in record):
            continue
        first = record if first is None else first
        if wanted <= {_normalise_header(h) for h in record}:
            return line, record, seen
        seen += 1
        if seen >= HEADER_SEARCH:
            break
    if first is None:
        raise ParseError("funding CSV is empty: no header row")
    column_index(first, columns)  # raises the message naming the missing header
    raise ParseError("funding CSV: no header row")  # pragma: no cover - column_index found every header


def column_index(header: Sequence[str], columns: Mapping[str, str]) -> dict[str, int]:
    """Map each configured raw column to its position in ``header``; ParseError on drift."""
    if not columns:
        raise ValueError("funding_csv options need a 'columns' mapping")
    unknown = set(columns) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown funding_operation columns in options: {sorted(unknown)}")
    found = [_normalise_header(h) for h in header]
    index = {}
    for name, wanted in columns.items():
        positions = [i for i, h in enumerate(found) if h == _normalise_header(wanted)]
        if len(positions) != 1:
            problem = "not found" if not positions else "found more than once"
            raise ParseError(f"column {name!r}: header {wanted!r} {problem}; headers found: {list(header)}")
        index[name] = positions[0]
    return index


def cell_records(
    records: Iterable[tuple[int, str, list[str]]], header: list[str], index: Mapping[str, int], damaged: bool
) -> Iterator[CellRecord | Rejected]:
    normalised_header = [_normalise_header(h) for h in header]
    for line, raw, record in records:
        if not any(cell.strip() for cell in record):
            continue
        where, raw = f"line {line}", storable(raw)
        if len(record) != len(header) and not (
            len(record) > len(header) and not any(c.strip() for c in record[len(header) :])
        ):
            yield Rejected(where, f"{len(record)} fields, header has {len(header)}", raw)
        elif [_normalise_header(c) for c in record[: len(header)]] == normalised_header:
            yield Rejected(where, "the header row again", raw)
        elif damaged and "\ufffd" in raw:
            yield Rejected(where, "holds bytes that are not UTF-8 (shown as U+FFFD)", raw)
        else:
            cells = {name: clean_text(record[position]) for name, position in index.items()}
            unstorable = unstorable_cell(cells)
            yield Rejected(where, unstorable, raw) if unstorable else CellRecord(where, raw, cells)
