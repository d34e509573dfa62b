"""Eurostat bulk TSV files → ``eurostat_observation`` rows (SDMX-CSV files are handed to ``sdmx_csv``).

TSV: header ``freq,unit,...,geo\\TIME_PERIOD<TAB>2015 <TAB>...``; cells ``70.4 b``, ``: u``, ``:``.
A payload whose header starts with ``DATAFLOW,`` or ``STRUCTURE,`` is SDMX-CSV 1.0 or 2.0: it is read by
``observatory.parse.sdmx_csv`` (same rows; see there), so a source keeps working when Eurostat changes format.

A missing cell is emitted (value None) only when it carries a flag. CRLF or LF, optional BOM, gzip or not
(``observatory.parse.compression``). ``parse_file`` streams a file (a block of lines in memory at a time, gunzipped
as it is read: ``observatory.parse.lines``), so an error further down the file (bytes that are not UTF-8, a broken
gzip stream) is raised when it is reached, after the rows before it. Options: ``dataset_code`` (required for TSV:
these files do not name their dataset), ``geo_dimension`` (default ``geo``, else ``cities`` for Eurostat's city
datasets). ``dataset_updated`` and ``confidentiality`` are always None (a TSV cell has only the status flags, e.g.
``c`` for confidential).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from observatory.parse import Note, ParseError, Rejected, sdmx_csv
from observatory.parse.compression import Opener, file_opener, payload_opener
from observatory.parse.lines import closing_after, utf8_lines
from observatory.parse.sdmx_csv import GEO_CANDIDATES, HEAD_BYTES, dimensions_json, geo_dimension

RAW_TABLE = "eurostat_observation"

TIME_COLUMNS = frozenset({"time", "time_period"})  # lower-cased names of the TSV column dimension


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """Validate options and header eagerly, then return a generator of raw-table rows."""
    return _parse(payload_opener(payload), options)


def parse_file(path: Path, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """``parse`` of the file at ``path``, streamed."""
    return _parse(file_opener(path), options)


def _parse(opener: Opener, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    with opener() as stream:
        head = stream.read(HEAD_BYTES)
    if sdmx_csv.is_sdmx_csv(head):
        return sdmx_csv.parse_opened(opener, options)
    dataset_code = options.get("dataset_code")
    if not dataset_code:
        raise ParseError("eurostat_tsv: the 'dataset_code' parse option is required")
    stream = opener()
    try:
        lines = closing_after(utf8_lines(stream, _not_utf8), stream)
        header = next(lines, "").rstrip("\n")
        row_dims, periods = _tsv_header(header)
        geo_axis = _geo_axis(row_dims, options)
    except BaseException:
        stream.close()
        raise
    geo = row_dims[geo_axis]
    note = (
        None
        if geo == "geo" or options.get("geo_dimension")
        else Note(f"dimension {geo}", "read as the geo dimension (no 'geo')")
    )
    return _tsv_rows(lines, str(dataset_code).strip(), row_dims, geo_axis, periods, note)


def _not_utf8(lineno: int, position: int) -> None:
    raise ParseError(f"eurostat_tsv: not UTF-8 at byte {position}")


def _tsv_header(header: str) -> tuple[list[str], list[str]]:
    """Row dimensions and column periods of ``freq,...,geo\\TIME_PERIOD<TAB>2015 <TAB>...``."""
    key, *periods = header.split("\t")
    row_part, backslash, column_dim = key.partition("\\")
    if not backslash or column_dim.strip().lower() not in TIME_COLUMNS:
        raise ParseError(f"eurostat_tsv: line 1: header key {key!r} is not 'dims,...\\TIME_PERIOD'")
    periods = [period.strip() for period in periods]
    if not periods or "" in periods or len(set(periods)) != len(periods):
        raise ParseError(f"eurostat_tsv: line 1: empty or repeated time periods {periods!r}")
    return [dim.strip() for dim in row_part.split(",")], periods


def _geo_axis(dims: list[str], options: Mapping[str, Any]) -> int:
    geo = geo_dimension(dims, options)
    if len(set(dims)) != len(dims) or geo is None:
        wanted = options.get("geo_dimension") or GEO_CANDIDATES[0]
        raise ParseError(f"eurostat_tsv: line 1: dimensions {dims!r} repeat or lack {wanted!r}")
    return dims.index(geo)


def _tsv_rows(
    lines: Iterator[str], dataset_code: str, row_dims: list[str], geo_axis: int, periods: list[str], note: Note | None
) -> Iterator[tuple | Note]:
    if note is not None:
        yield note
    for lineno, line in enumerate(lines, start=2):
        line = line.rstrip("\n")
        if not line:
            continue
        key, *cells = line.split("\t")
        codes = [code.strip() for code in key.split(",")]
        if len(cells) != len(periods) or len(codes) != len(row_dims):
            raise ParseError(
                f"eurostat_tsv: line {lineno}: expected {len(row_dims)} key codes and {len(periods)} cells, "
                f"found {len(codes)} and {len(cells)}"
            )
        geo = codes[geo_axis]
        dimensions = dimensions_json(
            {dim: code for axis, (dim, code) in enumerate(zip(row_dims, codes, strict=True)) if axis != geo_axis}
        )
        for period, cell in zip(periods, cells, strict=True):
            value, flags = _cell(cell, lineno, period)
            if value is not None or flags:
                yield dataset_code, dimensions, geo, period, value, flags, None, None


def _cell(cell: str, lineno: int, period: str) -> tuple[float | None, str | None]:
    """``70.4 b`` → (70.4, 'b'); ``: u`` → (None, 'u'); ``:`` → (None, None)."""
    raw, _, flags = cell.strip().partition(" ")
    return _number(raw, lineno, period), flags.strip() or None


def _number(raw: str, lineno: int, period: str) -> float | None:
    if raw == ":":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ParseError(f"eurostat_tsv: line {lineno}, period {period}: {raw!r} is not a number")
    return value
