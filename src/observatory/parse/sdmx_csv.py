"""SDMX-CSV 1.0 and 2.0 files (Eurostat's ``format=SDMX-CSV`` downloads) → ``eurostat_observation`` rows.

One observation per record. The header names the version:

- 1.0: ``DATAFLOW,LAST UPDATE,freq,unit,...,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG``;
- 2.0: ``STRUCTURE,STRUCTURE_ID[,STRUCTURE_NAME][,ACTION],freq,...,TIME_PERIOD,OBS_VALUE,OBS_FLAG,CONF_STATUS``.

The dimensions are the code columns before ``OBS_VALUE`` (but ``TIME_PERIOD`` and Eurostat's ``LAST UPDATE``);
after it come the attributes: ``OBS_FLAG`` (or ``OBS_STATUS``) → ``flags``, ``CONF_STATUS`` (or ``OBS_CONF``) →
``confidentiality``; other columns are ignored, with a note. Labels, in either form, are read past:

- Eurostat's ``labels=both``: a label column after each code column (``freq,Time frequency,...``, and
  ``STRUCTURE_NAME`` after ``STRUCTURE_ID``): found by strict pairing when the header says labels are there
  (``STRUCTURE_NAME``, or a header that cannot be an SDMX id such as ``Time frequency``), else column by column;
- the SDMX-CSV standard's ``ID: Name`` headers, whose cells read ``code: label``: the code is kept.

One row per record with a value, a flag or a confidentiality status (a record with none of them is skipped, like
a bare ``:`` cell of a Eurostat TSV file; an empty or ``NaN`` value with a flag is a row with value NULL). A record
that cannot be read (wrong number of fields, a value that is not a number, an empty code, bytes that are not
UTF-8, a broken quote) is a ``Rejected`` with its line number and text; the rest of the file loads. A record with
``ACTION`` ``D`` (delete) is not loaded (a note says so). Comma or semicolon separated, CRLF or LF, optional BOM,
gzip or not (``observatory.parse.compression``). ``parse_file`` streams a file (a block of lines in memory at a time,
gunzipped as it is read: ``observatory.parse.lines``), so a broken gzip stream further down is raised when it is
reached, after the rows before it. ``parse_arrays_file`` gives the same rows, rejected records and notes as one
streamed ``ArrayBatch`` (``observatory.parse.sdmx_csv_columns``), which the pipeline stages in bulk.

Options: ``dataset_code`` (default: from each record's ``STRUCTURE_ID``/``DATAFLOW``, ``ESTAT:URB_CPOPCB(1.0)``
→ ``urb_cpopcb``), ``geo_dimension`` (default ``geo``, else ``cities`` for Eurostat's city datasets, else
``REF_AREA``).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from observatory.parse import Note, ParseError, Rejected
from observatory.parse.arrays import ArrayBatch
from observatory.parse.compression import Opener, file_opener, payload_opener
from observatory.parse.lines import closing_after, utf8_lines

RAW_TABLE = "eurostat_observation"

# geo dimension names tried in order when the ``geo_dimension`` option is not set (every Eurostat parser)
GEO_CANDIDATES = ("geo", "cities", "GEO", "REF_AREA")

TIME, VALUE = "TIME_PERIOD", "OBS_VALUE"
FLAG_COLUMNS = ("OBS_FLAG", "OBS_STATUS")
CONFIDENTIALITY_COLUMNS = ("CONF_STATUS", "OBS_CONF")
STRUCTURE_COLUMNS = ("STRUCTURE", "STRUCTURE_ID", "STRUCTURE_NAME", "ACTION", "DATAFLOW", "LAST UPDATE")
RESERVED = frozenset({TIME, VALUE, *FLAG_COLUMNS, *CONFIDENTIALITY_COLUMNS, *STRUCTURE_COLUMNS})

SDMX_ID = re.compile(r"[A-Za-z][A-Za-z0-9_@$-]*")  # a code column's header; a label ("Time frequency") is not one
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MISSING_VALUES = frozenset({"", "NaN"})  # SDMX writes a missing observation value as NaN or leaves it empty
STRUCTURE_ID = re.compile(r"(?:[A-Za-z0-9_@$.-]*:)?([A-Za-z][A-Za-z0-9_@$-]*)(?:\([^()]*\))?")
HINT_CHARS = 500  # of the text, searched for the first line to quote when the header is not SDMX-CSV
HEAD_BYTES = 4 * HINT_CHARS + 3  # bytes that hold that many characters (UTF-8, after a BOM)
OnMessage = Callable[[Rejected | Note], None]  # told each rejected record and note of the bulk path
HEADER_START = re.compile(r'\ufeff?[ \t]*"?(STRUCTURE|DATAFLOW)(?::[^,;"\r\n]*)?"?[ \t]*([,;])')


@dataclass(frozen=True)
class Layout:
    """Where everything is in a record, read from the header."""

    version: str  # "1.0" or "2.0"
    delimiter: str  # "," or ";"
    width: int  # fields per record
    dims: list[str]  # dimension names, in column order
    dim_columns: list[int]
    geo: int  # position of the geo dimension in ``dims``
    time: int
    value: int
    flags: int | None
    confidentiality: int | None
    structure_id: int  # DATAFLOW (1.0) or STRUCTURE_ID (2.0)
    action: int | None
    combined: frozenset[int]  # columns whose cells are ``code: label``


def is_sdmx_csv(payload: bytes) -> bool:
    """Whether a (decompressed) payload starts like an SDMX-CSV file: ``DATAFLOW,`` or ``STRUCTURE,`` (or ``;``)."""
    return HEADER_START.match(payload[:200].decode("utf-8", "replace")) is not None


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """Read the header eagerly (``ParseError`` if it is not SDMX-CSV), then return a generator of rows."""
    return parse_opened(payload_opener(payload), options)


def parse_file(path: Path, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """``parse`` of the file at ``path``, streamed."""
    return parse_opened(file_opener(path), options)


def parse_opened(opener: Opener, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """``parse`` of the decompressed streams ``opener`` opens (one to look at the start, one to read the rows)."""
    records, lines, layout, notes = _opened(opener, options)
    return _rows(records, lines, layout, dataset_code_option(options), notes, {}, 0)


def parse_arrays_file(path: Path, options: Mapping[str, Any], on_message: OnMessage) -> ArrayBatch:
    """The bulk path: ``parse_file``'s rows as one ``ArrayBatch``, streamed (``observatory.parse.sdmx_csv_columns``);
    its rejected records and notes go to ``on_message`` as the parts are read."""
    from observatory.parse.sdmx_csv_columns import parse_arrays_file as columnar  # it builds on this module

    return columnar(path, options, on_message)


def read_layout(opener: Opener, options: Mapping[str, Any]) -> tuple[Layout, list[Note]]:
    """The layout the header describes and the notes about it (``ParseError`` as ``parse``)."""
    records, lines, layout, notes = _opened(opener, options)
    lines.close()
    return layout, notes


def record_rows(
    stream: IO[bytes], layout: Layout, dataset_code: str | None, codes_of: dict[str, str | None], offset: int
) -> Iterator[tuple | Rejected | Note]:
    """What ``parse`` yields for the records in ``stream`` (a file's lines after its header, the first of them
    numbered ``offset + 1``); ``codes_of`` holds the dataset codes of the structure ids already noted."""
    lines = _Lines(stream)
    return _rows(csv.reader(lines, delimiter=layout.delimiter), lines, layout, dataset_code, [], codes_of, offset)


def dataset_code_option(options: Mapping[str, Any]) -> str | None:
    """The ``dataset_code`` option (None: from each record's structure id)."""
    return str(options["dataset_code"]).strip() if options.get("dataset_code") else None


def _opened(opener: Opener, options: Mapping[str, Any]) -> tuple[Any, _Lines, Layout, list[Note]]:
    """The records after the header (a ``csv.reader``), their lines, the header's layout and notes."""
    with opener() as stream:
        head = stream.read(HEAD_BYTES).decode("utf-8-sig", "replace")
    start = HEADER_START.match(head)
    if start is None:
        raise ParseError(f"SDMX-CSV: line 1: header does not start with DATAFLOW or STRUCTURE{_hint(head)}")
    lines = _Lines(opener())
    try:
        records = csv.reader(lines, delimiter=start.group(2))
        try:
            header = next(records)
        except csv.Error as exc:
            raise ParseError(f"SDMX-CSV: line 1: header is not CSV: {exc}") from None
        if 1 in lines.bad:
            raise ParseError("SDMX-CSV: line 1: header is not UTF-8")
        if records.line_num != 1:
            raise ParseError(f"SDMX-CSV: line 1: header spans {records.line_num} lines (an unclosed quote?)")
        lines.raw()
        layout, notes = _layout(header, options, start.group(2))
    except BaseException:
        lines.close()
        raise
    return records, lines, layout, notes


def _hint(text: str) -> str:
    first = text[:HINT_CHARS].partition("\n")[0]
    if "\\TIME_PERIOD" in first or "\\time" in first.lower():
        return " (it looks like a Eurostat TSV file: format eurostat_tsv)"
    if first.lstrip("\ufeff \t").startswith(("{", "[")):
        return " (it looks like JSON: format jsonstat?)"
    return f": {first[:80]!r}"


class _Lines:
    """The stream's lines for ``csv.reader``, keeping those read since the last ``raw()`` (a record's own text) and
    the numbers of the lines that are not UTF-8 (decoded with U+FFFD, to be rejected); closes the stream at its end."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lines = closing_after(utf8_lines(stream, self._not_utf8), stream)
        self._taken: list[str] = []
        self.bad: set[int] = set()

    def close(self) -> None:
        self._stream.close()

    def _not_utf8(self, lineno: int, position: int) -> None:
        self.bad.add(lineno)

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self._taken.append(line)
        return line

    def raw(self) -> str:
        raw = "".join(self._taken).rstrip("\n")
        self._taken.clear()
        return raw


def _layout(header: list[str], options: Mapping[str, Any], delimiter: str) -> tuple[Layout, list[Note]]:
    names, combined = _column_ids(header)
    if not names:
        raise ParseError("SDMX-CSV: line 1: empty header")
    version = "1.0" if names[0] == "DATAFLOW" else "2.0"
    if version == "2.0" and names[1:2] != ["STRUCTURE_ID"]:
        raise ParseError(f"SDMX-CSV: line 1: STRUCTURE is not followed by STRUCTURE_ID but {names[1:2]!r}")
    prefix = _structure_prefix(names, version)
    labels = _label_columns(names, prefix, labelled="STRUCTURE_NAME" in names[:prefix])
    codes = [i for i in range(prefix, len(names)) if i not in labels]
    where = {name: [i for i in codes if names[i] == name] for name in RESERVED}
    for name in (TIME, VALUE):
        if len(where[name]) != 1:
            found = "no" if not where[name] else f"{len(where[name])}"
            raise ParseError(f"SDMX-CSV: line 1: header has {found} {name} column (columns {names!r})")
    value = where[VALUE][0]
    dim_columns = [i for i in codes if i < value and names[i] not in RESERVED]
    dims = [names[i] for i in dim_columns]
    if "" in dims or len(set(dims)) != len(dims):
        raise ParseError(f"SDMX-CSV: line 1: dimension columns {dims!r} repeat or have no name")
    geo, geo_note = _geo(dims, options)
    flags, confidentiality = (_first(where, group) for group in (FLAG_COLUMNS, CONFIDENTIALITY_COLUMNS))
    used = {*dim_columns, where[TIME][0], value, flags, confidentiality}
    ignored = [names[i] for i in codes if i not in used]
    notes = []
    if labels:
        notes.append(
            Note("columns", f"{len(labels)} label columns not loaded: {', '.join(names[i] for i in sorted(labels))}")
        )
    if geo_note:
        notes.append(geo_note)
    if ignored:
        notes.append(Note("columns", f"not loaded: {', '.join(ignored)}"))
    layout = Layout(
        version=version,
        delimiter=delimiter,
        width=len(names),
        dims=dims,
        dim_columns=dim_columns,
        geo=geo,
        time=where[TIME][0],
        value=value,
        flags=flags,
        confidentiality=confidentiality,
        structure_id=0 if version == "1.0" else 1,
        action=names.index("ACTION") if "ACTION" in names[:prefix] else None,
        combined=frozenset(combined - {value}),
    )
    return layout, notes


def _column_ids(header: list[str]) -> tuple[list[str], set[int]]:
    """Column ids of the header, with the columns written ``ID: Name`` (the standard's labels) reduced to ``ID``."""
    names, combined = [], set()
    for position, column in enumerate(header):
        column = column.strip()
        code, colon, _ = column.partition(":")
        if colon and SDMX_ID.fullmatch(code.strip()):
            names.append(code.strip())
            combined.add(position)
        else:
            names.append(column)
    return names, combined


def _structure_prefix(names: list[str], version: str) -> int:
    """How many leading columns describe the structure (and, in 1.0, Eurostat's LAST UPDATE), not the data."""
    allowed = (
        ("DATAFLOW", "LAST UPDATE") if version == "1.0" else ("STRUCTURE", "STRUCTURE_ID", "STRUCTURE_NAME", "ACTION")
    )
    prefix = 0
    for name in allowed:
        if prefix < len(names) and names[prefix] == name:
            prefix += 1
    return prefix


def _label_columns(names: list[str], prefix: int, labelled: bool) -> set[int]:
    """Positions of the label columns (Eurostat's ``labels=both``: one after each code column)."""
    body = range(prefix, len(names))
    if not labelled and all(SDMX_ID.fullmatch(names[i]) or names[i] in RESERVED for i in body):
        return set()
    paired = set(body[1::2])
    if len(body) % 2 == 0 and all(_fits(names[i], label=i in paired) for i in body):
        return paired
    labels: set[int] = set()  # not strictly paired: a column that cannot be an id, right after a code column
    for i in body:
        if i - 1 >= prefix and i - 1 not in labels and names[i] not in RESERVED and not SDMX_ID.fullmatch(names[i]):
            labels.add(i)
    return labels


def _fits(name: str, label: bool) -> bool:
    """Whether a header fits a label position (anything but a reserved column) or a code position (an id)."""
    return name not in RESERVED if label else name in RESERVED or SDMX_ID.fullmatch(name) is not None


def _first(where: dict[str, list[int]], group: tuple[str, ...]) -> int | None:
    return next((where[name][0] for name in group if where[name]), None)


def _geo(dims: list[str], options: Mapping[str, Any]) -> tuple[int, Note | None]:
    """Position of the geo dimension among ``dims``: the ``geo_dimension`` option, else the first candidate."""
    name = geo_dimension(dims, options)
    if name is None:
        wanted = options.get("geo_dimension") or " / ".join(GEO_CANDIDATES)
        raise ParseError(f"SDMX-CSV: line 1: no geo dimension {wanted!r} among the dimensions {dims!r}")
    if options.get("geo_dimension") or name == "geo":
        return dims.index(name), None
    return dims.index(name), Note(f"column {name}", "read as the geo dimension (the file has no 'geo' column)")


def geo_dimension(dims: list[str], options: Mapping[str, Any]) -> str | None:
    """The ``geo_dimension`` option if it is one of ``dims``, else (option unset) the first of ``GEO_CANDIDATES``."""
    if options.get("geo_dimension"):
        named = str(options["geo_dimension"]).strip()
        return named if named in dims else None
    return next((name for name in GEO_CANDIDATES if name in dims), None)


def dimensions_json(dimensions: Mapping[str, str]) -> str:
    """The dimensions of a row as compact JSON with sorted keys (the ``dimensions`` column)."""
    return orjson.dumps(dimensions, option=orjson.OPT_SORT_KEYS).decode()


def dataset_code_of(structure_id: str) -> str | None:
    """``ESTAT:URB_CPOPCB(1.0)`` → ``urb_cpopcb`` (agency and version dropped, lower-cased); None if not like that."""
    match = STRUCTURE_ID.fullmatch(structure_id.strip())
    return match.group(1).lower() if match else None


def _rows(
    records: Any,
    lines: _Lines,
    layout: Layout,
    dataset_code: str | None,
    notes: list[Note],
    codes_of: dict[str, str | None],
    offset: int,
) -> Iterator[tuple | Rejected | Note]:
    yield from notes
    while True:
        start = records.line_num + 1
        where = f"line {start + offset}"
        try:
            record = next(records)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Rejected(where, f"not CSV: {exc}", lines.raw())
            continue
        raw = lines.raw()
        if not any(field.strip() for field in record):
            continue  # a blank line
        if any(lineno in lines.bad for lineno in range(start, records.line_num + 1)):
            yield Rejected(where, "not UTF-8 (the invalid bytes are shown as U+FFFD)", raw)
            continue
        if len(record) != layout.width:
            yield Rejected(where, f"expected {layout.width} fields, found {len(record)}", raw)
            continue
        code = dataset_code
        if code is None:
            structure_id = record[layout.structure_id].strip()
            if structure_id not in codes_of:
                codes_of[structure_id] = dataset_code_of(structure_id)
                if codes_of[structure_id]:
                    yield Note(where, f"dataset code {codes_of[structure_id]} from {structure_id}")
            code = codes_of[structure_id]
            if code is None:
                reason = f"no dataset code in {structure_id!r} (not like ESTAT:URB_CPOPCB(1.0)): set dataset_code"
                yield Rejected(where, reason, raw)
                continue
        item = _observation(record, layout, code, where, raw)
        if item is not None:
            yield item


def _observation(
    record: list[str], layout: Layout, dataset_code: str, where: str, raw: str
) -> tuple | Rejected | Note | None:
    """The row of one record; None for a record with no value, flag or confidentiality status."""

    def cell(column: int | None) -> str:
        if column is None:
            return ""
        text = record[column].strip()
        return text.partition(": ")[0].strip() if column in layout.combined else text

    if layout.action is not None and cell(layout.action) == "D":
        return Note(where, "ACTION D (delete): not loaded")
    number, flags, confidentiality = record[layout.value].strip(), cell(layout.flags), cell(layout.confidentiality)
    if number in MISSING_VALUES and not flags and not confidentiality:
        return None
    codes = [cell(column) for column in layout.dim_columns]
    period = cell(layout.time)
    empty = [dim for dim, code in zip(layout.dims, codes, strict=True) if not code] + ([TIME] if not period else [])
    if empty:
        return Rejected(where, f"empty code for {', '.join(empty)}", raw)
    value = None
    if number not in MISSING_VALUES:
        value = float(number) if NUMBER.fullmatch(number) else math.nan
        if not math.isfinite(value):
            return Rejected(where, f"{VALUE} {number!r} is not a number", raw)
    dimensions = {
        dim: code for axis, (dim, code) in enumerate(zip(layout.dims, codes, strict=True)) if axis != layout.geo
    }
    return (
        dataset_code,
        dimensions_json(dimensions),
        codes[layout.geo],
        period,
        value,
        flags or None,
        None,
        confidentiality or None,
    )
