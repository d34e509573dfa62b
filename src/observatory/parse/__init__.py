"""Bytes → rows. One module per format; each exposes

    RAW_TABLE: str                                   # a key of observatory.warehouse.raw_tables.RAW_TABLES
    def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]

yielding tuples in the raw table's column order, and a ``Rejected`` for each record it cannot read (the rest of
the file still loads; the pipeline keeps every rejected record in ``audit.rejected_record``), and a ``Note`` for
each decision a reader of the batch should know (``audit.batch.parse_notes``). ``options`` is the
source's ``parse`` mapping from the registry (sources.yml). A payload that cannot be parsed at all raises
``ParseError`` with a message that names what is wrong and where; a parser raises nothing else.

The line-oriented formats (``eurostat_tsv``, ``sdmx_csv``, ``funding_csv``) also read a file as a stream,

    def parse_file(path: Path, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]

with the same output as ``parse`` of its bytes, gunzipped as it is read (``observatory.parse.compression``), which
the pipeline uses for landed files of any size. The others read one document whole (JSON-stat and funding JSON
are single JSON values, a calendar or a document is interpreted as a whole) and get the landed bytes.

A parser may also give the bulk path (column-wise numpy arrays, ``observatory.parse.arrays.ArrayBatch``), which the
pipeline then stages instead: ``parse_arrays(payload, options)`` from the bytes (JSON-stat), or

    def parse_arrays_file(path: Path, options: Mapping[str, Any], on_message: Callable[[Rejected | Note], None])
        -> ArrayBatch

streamed from the file (SDMX-CSV), its parts read as they are consumed, each ``Rejected`` and ``Note`` handed to
``on_message`` as it is met: the same rows, rejected records and notes as ``parse``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

# format name → raw table it writes; lets the registry validate entries without importing every parser
FORMATS: dict[str, str] = {
    "jsonstat": "eurostat_observation",
    "eurostat_tsv": "eurostat_observation",
    "sdmx_csv": "eurostat_observation",
    "document": "report_document",
    "funding_csv": "funding_operation",
    "funding_json": "funding_operation",
    "ics": "calendar_event",
    "event_page": "calendar_event",
}


class ParseError(ValueError):
    """The payload is not in the format its source declares."""


@dataclass(frozen=True)
class Rejected:
    """A record the parser could not read: kept with where it was and why, never dropped silently."""

    where: str  # the record's place in the file: "line 14", "UID 20190216T1@example.org", "index 7"
    reason: str  # one line: what is wrong with it
    raw: str  # the record's text as it was in the file (a CSV line, a VEVENT block, a JSON object)


@dataclass(frozen=True)
class Note:
    """A decision the parser took for the whole file or one record that a reader of the batch should know
    (a column read as decimal comma, an unknown TZID read in the default zone); kept in ``audit.batch.parse_notes``."""

    where: str  # "column amount", "UID 1234@example.org", "file"
    note: str  # one line


def parser_for(format_name: str) -> ModuleType:
    """The parser module for a registry ``format`` (e.g. ``jsonstat``, ``eurostat_tsv``)."""
    if format_name not in FORMATS:  # parse/ also holds the parsers' parts (calendar/, funding/, arrays, ...)
        raise ValueError(f"no parser for format {format_name!r}")
    return importlib.import_module(f"observatory.parse.{format_name}")
