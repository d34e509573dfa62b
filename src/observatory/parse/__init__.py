"""Bytes → rows. One module per format; each exposes

    RAW_TABLE: str                                   # a key of observatory.warehouse.raw_tables.RAW_TABLES
    def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple]

yielding tuples in the raw table's column order. ``options`` is the source's ``parse``
mapping from the registry (sources.yml). A payload that cannot be parsed raises
``ParseError`` with a message that names what is wrong and where.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# format name → raw table it writes; lets the registry validate entries without importing every parser
FORMATS: dict[str, str] = {
    "jsonstat": "eurostat_observation",
    "eurostat_tsv": "eurostat_observation",
    "document": "report_document",
    "funding_csv": "funding_operation",
    "funding_json": "funding_operation",
    "ics": "calendar_event",
    "event_page": "calendar_event",
}


class ParseError(ValueError):
    """The payload is not in the format its source declares."""


def parser_for(format_name: str) -> ModuleType:
    """The parser module for a registry ``format`` (e.g. ``jsonstat``, ``eurostat_tsv``)."""
    try:
        return importlib.import_module(f"observatory.parse.{format_name}")
    except ModuleNotFoundError as exc:
        raise ValueError(f"no parser for format {format_name!r}") from exc
