"""Funding operations from JSON APIs (one page of records per payload) → ``funding_operation`` rows.

Options (registry ``parse``), besides those of :mod:`observatory.parse.funding_csv` (``currency``,
``country_code``, ``fund``, ``programme``, ``default_city``, ``date_format``, ``year_only_dates``,
``decimal``), which mean the same here:

``records_path``
    dotted path to the array of records in the payload (``results``, ``data.items``); default: the
    payload is the array (Socrata's ``/resource/<id>.json``).
``fields``
    mapping raw-table column → dotted path inside a record. A record without the key (APIs leave out
    empty fields) gives NULL; a configured field found in no record of a non-empty page raises
    ``ParseError`` (schema drift).

JSON numbers are exact (read as ``Decimal``, never float): an amount that is a number is taken as it is,
an amount that is a string is read like a CSV cell (``"91.100,16 €"``). Keys and duplicates as in
``funding_csv``; each page is keyed on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from observatory.parse import ParseError
from observatory.parse.funding_csv import FIELDS, clean_text, keyed_rows, typed_operation

RAW_TABLE = "funding_operation"

_MISSING = object()


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple]:
    """Yield one ``funding_operation`` tuple per record of the page."""
    fields = options.get("fields") or {}
    if not fields:
        raise ValueError("funding_json options need a 'fields' mapping")
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown funding_operation columns in options: {sorted(unknown)}")
    records = records_at(_load(payload), options.get("records_path"))
    if records:
        absent = [field for field, path in fields.items() if all(lookup(r, path) is _MISSING for r in records)]
        if absent:
            raise ParseError(f"fields {absent} not found in any record; keys of the first: {sorted(records[0])}")
    yield from keyed_rows(
        (
            typed_operation(_cells(record, fields, number), options, f"record {number}")
            for number, record in enumerate(records, start=1)
        ),
        options,
    )


def _load(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"not a UTF-8 JSON payload: {exc}") from exc


def lookup(value: Any, path: str) -> Any:
    """The value at a dotted ``path`` in nested objects, or ``_MISSING``."""
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def records_at(document: Any, path: str | None) -> list[dict]:
    """The records array at ``path`` (the document itself when None); ParseError when it is not one."""
    records = lookup(document, path) if path else document
    if not isinstance(records, list):
        raise ParseError(f"no array of records at {path or 'the top level'!r}")
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise ParseError(f"record {number} is a {type(record).__name__}, not an object")
    return records


def _cells(record: dict, fields: Mapping[str, str], number: int) -> dict[str, str | Decimal | None]:
    """Each configured field's value as text, an exact number or None."""
    cells: dict[str, str | Decimal | None] = {}
    for field, path in fields.items():
        value = lookup(record, path)
        if value is _MISSING or value is None:
            cells[field] = None
        elif isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            kind = type(value).__name__
            raise ParseError(f"record {number}, field {field!r} ({path}): a {kind} is not text or a number")
        else:
            cells[field] = clean_text(value) if isinstance(value, str) else Decimal(value)
    return cells
