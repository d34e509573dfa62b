"""Funding operations from JSON APIs (one page of records per payload) → ``funding_operation`` rows.

Options (registry ``parse``), besides those of :mod:`observatory.parse.funding_csv` (``currency``,
``country_code``, ``fund``, ``programme``, ``default_city``, ``date_format``, ``year_only_dates``,
``decimal``, ``rate_scale``, ``location_type``), which mean the same here:

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

As in ``funding_csv``, a record that cannot be read (a value that is neither text nor a number, an
unreadable amount, an element of the array that is no object) is a ``Rejected`` (where: ``record N``, raw: the
record as JSON) and the rest of the page loads; an unreadable date or rate is NULL with a note. The per-column
decisions (decimal style of text amounts, date order, rate as fraction or percent) are taken per page, from
the text values of that page: a paged API whose pages could decide differently should set ``decimal``,
``date_format`` and ``rate_scale``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from observatory.parse import Note, ParseError, Rejected
from observatory.parse.funding.cells import CellRecord, clean_text, storable, unstorable_cell
from observatory.parse.funding.options import check_options
from observatory.parse.funding.rows import typed_rows

RAW_TABLE = "funding_operation"

_MISSING = object()


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """Yield one ``funding_operation`` tuple per readable record of the page, a ``Rejected`` per other record and
    the notes of the decisions taken."""
    check_options(options, "fields")
    fields = options["fields"]
    records = records_at(_load(payload), options.get("records_path"))
    objects = [r for r in records if isinstance(r, dict)]
    if records and not objects:
        kind = type(records[0]).__name__
        raise ParseError(f"no record is an object: record 1 is a {kind}, not an object")
    if objects:
        absent = [field for field, path in fields.items() if all(lookup(r, path) is _MISSING for r in objects)]
        if absent:
            raise ParseError(f"fields {absent} not found in any record; keys of the first: {sorted(objects[0])}")
    yield from typed_rows((_record(record, fields, number) for number, record in enumerate(records, 1)), options)


def _load(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"not a UTF-8 JSON payload: {exc}") from exc
    except RecursionError as exc:
        raise ParseError("JSON payload nested too deeply to read") from exc


def _json_text(value: Any) -> str:
    """A record as JSON text again, its numbers as exact as they were written."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {_json_text(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def lookup(value: Any, path: str) -> Any:
    """The value at a dotted ``path`` in nested objects, or ``_MISSING``."""
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def records_at(document: Any, path: str | None) -> list[Any]:
    """The records array at ``path`` (the document itself when None); ParseError when it is not one."""
    records = lookup(document, path) if path else document
    if not isinstance(records, list):
        raise ParseError(f"no array of records at {path or 'the top level'!r}")
    return records


def _record(record: Any, fields: Mapping[str, str], number: int) -> CellRecord | Rejected:
    """The record's configured fields as text, exact numbers or None; a ``Rejected`` for a record that is no
    object or has a value that is neither text nor a number."""
    where = f"record {number}"
    try:
        raw = storable(_json_text(record))
    except RecursionError:
        raw = "(a record nested too deeply to show)"
    if not isinstance(record, dict):
        return Rejected(where, f"a {type(record).__name__}, not an object", raw)
    cells: dict[str, str | Decimal | None] = {}
    for field, path in fields.items():
        value = lookup(record, path)
        if value is _MISSING or value is None:
            cells[field] = None
        elif isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            kind = type(value).__name__
            return Rejected(where, f"field {field!r} ({path}): a {kind} is not text or a number", raw)
        elif isinstance(value, str):
            cells[field] = clean_text(value)
        elif field == "amount":
            cells[field] = Decimal(value)
        else:
            cells[field] = format(Decimal(value), "f")
    unstorable = unstorable_cell(cells)
    return Rejected(where, unstorable, raw) if unstorable else CellRecord(where, raw, cells)
