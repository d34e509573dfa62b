"""Eurostat bulk TSV (and SDMX-CSV) files → ``eurostat_observation`` rows.

TSV: header ``freq,unit,...,geo\\TIME_PERIOD<TAB>2015 <TAB>...``; cells ``70.4 b``, ``: u``, ``:``.
SDMX-CSV (detected by a header starting with ``DATAFLOW,``): one observation per line with
``TIME_PERIOD``, ``OBS_VALUE`` and ``OBS_FLAG`` columns; other non-dimension columns are ignored.

A missing cell is emitted (value None) only when it carries a flag. CRLF or LF, optional BOM.
Options: ``dataset_code`` (required: these files do not name their dataset), ``geo_dimension``
(default ``geo``). ``dataset_updated`` is always None.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from observatory.parse import ParseError

RAW_TABLE = "eurostat_observation"

TIME_COLUMNS = frozenset({"time", "time_period"})  # lower-cased names of the TSV column dimension
SDMX_ATTRIBUTES = frozenset({"DATAFLOW", "LAST UPDATE", "TIME_PERIOD", "OBS_VALUE", "OBS_FLAG", "CONF_STATUS"})


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple]:
    """Validate options and header eagerly, then return a generator of raw-table rows."""
    dataset_code = options.get("dataset_code")
    if not dataset_code:
        raise ValueError("eurostat_tsv: the 'dataset_code' parse option is required")
    lines = iter(io.StringIO(_decode(payload), newline=None))
    header = next(lines, "").rstrip("\n")
    geo_dimension = options.get("geo_dimension", "geo")
    if header.startswith("DATAFLOW,"):
        return _sdmx_csv_rows(header, lines, str(dataset_code), geo_dimension)
    row_dims, periods = _tsv_header(header)
    geo_axis = _geo_axis(row_dims, geo_dimension)
    return _tsv_rows(lines, str(dataset_code), row_dims, geo_axis, periods)


def _decode(payload: bytes) -> str:
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"eurostat_tsv: not UTF-8 at byte {exc.start}") from exc


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


def _geo_axis(dims: list[str], geo_dimension: str) -> int:
    if len(set(dims)) != len(dims) or geo_dimension not in dims:
        raise ParseError(f"eurostat_tsv: line 1: dimensions {dims!r} repeat or lack {geo_dimension!r}")
    return dims.index(geo_dimension)


def _tsv_rows(
    lines: Iterator[str], dataset_code: str, row_dims: list[str], geo_axis: int, periods: list[str]
) -> Iterator[tuple]:
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
        dimensions = _dimensions_json(row_dims, codes, geo_axis)
        for period, cell in zip(periods, cells, strict=True):
            value, flags = _cell(cell, lineno, period)
            if value is not None or flags:
                yield dataset_code, dimensions, geo, period, value, flags, None


def _cell(cell: str, lineno: int, period: str) -> tuple[float | None, str | None]:
    """``70.4 b`` → (70.4, 'b'); ``: u`` → (None, 'u'); ``:`` → (None, None)."""
    raw, _, flags = cell.strip().partition(" ")
    return _number(raw, lineno, period, ":"), flags.strip() or None


def _number(raw: str, lineno: int, period: str, missing: str) -> float | None:
    if raw == missing:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ParseError(f"eurostat_tsv: line {lineno}, period {period}: {raw!r} is not a number")
    return value


def _dimensions_json(dims: list[str], codes: list[str], geo_axis: int) -> str:
    """Every code but geo (and time) as a compact JSON object with sorted keys."""
    pairs = {dim: code for axis, (dim, code) in enumerate(zip(dims, codes, strict=True)) if axis != geo_axis}
    return orjson.dumps(pairs, option=orjson.OPT_SORT_KEYS).decode()


def _sdmx_csv_rows(header: str, lines: Iterator[str], dataset_code: str, geo_dimension: str) -> Iterator[tuple]:
    """Rows of an SDMX-CSV file (``DATAFLOW,LAST UPDATE,freq,...,TIME_PERIOD,OBS_VALUE,OBS_FLAG``)."""
    columns = [column.strip() for column in next(csv.reader([header]))]
    missing = {"TIME_PERIOD", "OBS_VALUE"} - set(columns)
    if missing:
        raise ParseError(f"eurostat_tsv: line 1: SDMX-CSV header lacks {sorted(missing)!r}")
    dims = [column for column in columns if column not in SDMX_ATTRIBUTES]
    geo_axis = _geo_axis(dims, geo_dimension)
    return _sdmx_observations(lines, columns, dims, geo_axis, dataset_code)


def _sdmx_observations(
    lines: Iterator[str], columns: list[str], dims: list[str], geo_axis: int, dataset_code: str
) -> Iterator[tuple]:
    records = csv.reader(lines)
    for record in records:
        lineno = records.line_num + 1  # the header was line 1
        if not record:
            continue
        if len(record) != len(columns):
            raise ParseError(f"eurostat_tsv: line {lineno}: expected {len(columns)} fields, found {len(record)}")
        fields = dict(zip(columns, (field.strip() for field in record), strict=True))
        codes = [fields[dim] for dim in dims]
        period = fields["TIME_PERIOD"]
        value = _number(fields["OBS_VALUE"], lineno, period, "")
        flags = fields.get("OBS_FLAG") or None
        if value is not None or flags:
            yield (
                dataset_code,
                _dimensions_json(dims, codes, geo_axis),
                codes[geo_axis],
                period,
                value,
                flags,
                None,
            )
