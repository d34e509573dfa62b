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
``country_field``
    dotted path to the record's country, so that one source covers many countries (the EU cohesion
    open-data portal's ``country``): an English country name as the portal writes it (``Italy``,
    ``Czechia``, ``Czech Republic``), or an ISO 3166-1 alpha-2 code (Eurostat's ``EL`` and ``UK`` too),
    becomes the row's ``country_code`` (ISO alpha-2) and the country its place is resolved in, instead of
    the entry's ``country_code``. A record whose country is not one of ``COUNTRY_NAMES`` nor of the
    ``country_names`` option (``{name: alpha-2 code}``, added to them) is a ``Rejected`` saying so. A record
    without a country takes the one its NUTS code names (``location_code`` such as ``ITC4C`` or ``EL303``),
    else the entry's ``country_code``, else it is rejected; a page whose records all lack the field says so
    in a note.

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
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from observatory.parse import Note, ParseError, Rejected
from observatory.parse.funding.cells import CellRecord, clean_text, shown, storable, unstorable_cell
from observatory.parse.funding.columns import Columns
from observatory.parse.funding.options import check_options
from observatory.parse.funding.rows import _ordered, operation_key, typed_rows
from observatory.parse.json_depth import json_depth_problem

RAW_TABLE = "funding_operation"
NUTS_CODE = re.compile(r"[A-Z]{2}[0-9A-Z]{0,3}")  # a NUTS 0-3 code: its first two letters are the country's

# Country names as the EU cohesion open-data portal and other English-language lists write them → ISO 3166-1
# alpha-2: the EU-27, the EEA, the United Kingdom and the candidate and neighbourhood countries of the warehouse's
# geo_reference seed, with the older or longer forms still found in the 2014-2020 data.
COUNTRY_NAMES: Mapping[str, str] = {
    "austria": "AT",
    "belgium": "BE",
    "bulgaria": "BG",
    "croatia": "HR",
    "cyprus": "CY",
    "czechia": "CZ",
    "czech republic": "CZ",
    "denmark": "DK",
    "estonia": "EE",
    "finland": "FI",
    "france": "FR",
    "germany": "DE",
    "greece": "GR",
    "hungary": "HU",
    "ireland": "IE",
    "italy": "IT",
    "latvia": "LV",
    "lithuania": "LT",
    "luxembourg": "LU",
    "malta": "MT",
    "netherlands": "NL",
    "the netherlands": "NL",
    "poland": "PL",
    "portugal": "PT",
    "romania": "RO",
    "slovakia": "SK",
    "slovak republic": "SK",
    "slovenia": "SI",
    "spain": "ES",
    "sweden": "SE",
    "iceland": "IS",
    "liechtenstein": "LI",
    "norway": "NO",
    "switzerland": "CH",
    "united kingdom": "GB",
    "montenegro": "ME",
    "north macedonia": "MK",
    "albania": "AL",
    "serbia": "RS",
    "türkiye": "TR",
    "turkey": "TR",
    "bosnia and herzegovina": "BA",
    "kosovo": "XK",
    "ukraine": "UA",
    "moldova": "MD",
    "republic of moldova": "MD",
    "georgia": "GE",
}
EUROSTAT_CODES = {"EL": "GR", "UK": "GB"}  # Eurostat's country codes that are not ISO alpha-2
_ALPHA2 = frozenset(COUNTRY_NAMES.values())

_MISSING = object()


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """Yield one ``funding_operation`` tuple per readable record of the page, a ``Rejected`` per other record and
    the notes of the decisions taken."""
    check_options(options, "fields")
    fields = options["fields"]
    country_path = options.get("country_field")
    if country_path is not None and not (isinstance(country_path, str) and country_path):
        raise ValueError(f"country_field must be a dotted path in the records, not {country_path!r}")
    countries = country_table(options) if country_path else {}
    records = records_at(_load(payload), options.get("records_path"))
    objects = [r for r in records if isinstance(r, dict)]
    if records and not objects:
        kind = type(records[0]).__name__
        raise ParseError(f"no record is an object: record 1 is a {kind}, not an object")
    if objects:
        absent = [field for field, path in fields.items() if all(lookup(r, path) is _MISSING for r in objects)]
        if absent:
            raise ParseError(f"fields {absent} not found in any record; keys of the first: {sorted(objects[0])}")
    cell_records = (_record(record, fields, number) for number, record in enumerate(records, 1))
    if not country_path:
        yield from typed_rows(cell_records, options)
        return
    if objects and all(lookup(r, country_path) is _MISSING for r in objects):
        yield Note(
            f"country_field {country_path}",
            "in no record of the page: countries from the NUTS codes (location_code), else country_code",
        )
    with_countries = [
        _with_country(item, record, country_path, countries, options)
        for item, record in zip(cell_records, records, strict=True)
    ]
    yield from _rows_with_countries(with_countries, options)


def country_table(options: Mapping[str, Any]) -> dict[str, str]:
    """Casefolded country name → ISO alpha-2 code: ``COUNTRY_NAMES`` and the entry's ``country_names``; ValueError
    for a ``country_names`` that is no mapping of names to two-letter codes (a registry mistake)."""
    extra = options.get("country_names") or {}
    if not isinstance(extra, Mapping) or not all(
        isinstance(name, str) and isinstance(code, str) and len(code) == 2 and code.isalpha()
        for name, code in extra.items()
    ):
        raise ValueError(f"country_names must map country names to ISO 3166-1 alpha-2 codes, not {extra!r}")
    return {**COUNTRY_NAMES, **{_name_key(name): code.upper() for name, code in extra.items()}}


def country_code(value: str, countries: Mapping[str, str]) -> str | None:
    """The ISO alpha-2 code of a country name or code as a list writes it, or None when it is none we know."""
    key = _name_key(value)
    if key in countries:
        return countries[key]
    code = key.upper()
    if len(code) == 2 and (code in _ALPHA2 or code in countries.values()):
        return code
    return EUROSTAT_CODES.get(code)


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def _with_country(
    item: CellRecord | Rejected,
    record: Any,
    path: str,
    countries: Mapping[str, str],
    options: Mapping[str, Any],
) -> tuple[CellRecord | Rejected, str | None]:
    """The record and its country's code, or its ``Rejected`` when it has no country the parser can name."""
    if isinstance(item, Rejected):
        return item, None
    value = lookup(record, path)
    where = f"country_field {path}"
    if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
        code = _nuts_country(item.cells.get("location_code")) or options.get("country_code")
        if code:
            return item, str(code).upper()
        reason = f"{where}: no country, no NUTS code in location_code and no country_code for the entry"
        return Rejected(item.where, reason, item.raw), None
    if not isinstance(value, str):
        return Rejected(item.where, f"{where}: a {type(value).__name__} is not a country name", item.raw), None
    code = country_code(value, countries)
    if code is None:
        reason = f"{where}: {shown(value)} is not a country the parser knows (add it to the entry's country_names)"
        return Rejected(item.where, reason, item.raw), None
    return item, code


def _nuts_country(cell: str | Decimal | None) -> str | None:
    """The ISO alpha-2 code of the country a NUTS code names (``ITC4C`` → IT, ``EL303`` → GR), or None."""
    if not isinstance(cell, str) or not NUTS_CODE.fullmatch(cell):
        return None
    prefix = cell[:2]
    return EUROSTAT_CODES.get(prefix) or (prefix if prefix in _ALPHA2 else None)


def _rows_with_countries(
    items: Sequence[tuple[CellRecord | Rejected, str | None]], options: Mapping[str, Any]
) -> Iterator[tuple | Rejected | Note]:
    """What ``typed_rows`` yields (same decisions, keys, notes and order), each row with its own record's country
    as ``country_code`` and the country its place is resolved in."""
    columns = Columns([item for item, _ in items if isinstance(item, CellRecord)], options)
    yield from columns.notes
    seen: Counter[str] = Counter()
    per_country: dict[str | None, Mapping[str, Any]] = {}
    for item, code in items:
        if isinstance(item, Rejected):
            yield item
            continue
        converted = columns.convert(item)
        yield from columns.take_cell_notes()
        if isinstance(converted, Rejected):
            yield converted
            continue
        key = operation_key(converted)
        seen[key] += 1
        if code not in per_country:
            per_country[code] = {**options, "country_code": code}
        yield (key if seen[key] == 1 else f"{key}#{seen[key]}", *_ordered(converted, per_country[code]))
    yield from columns.closing_notes()


def _load(payload: bytes) -> Any:
    if problem := json_depth_problem(payload):
        raise ParseError(problem)
    try:
        return json.loads(payload.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"not a UTF-8 JSON payload: {exc}") from exc


def _json_text(value: Any) -> str:
    """A record as JSON text again, its numbers as exact as they were written."""
    try:  # the C encoder, for a record without decimal numbers (Socrata writes every value as text): same text
        return json.dumps(value, ensure_ascii=False)
    except TypeError:  # a Decimal somewhere
        return _exact_json_text(value)


def _exact_json_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {_exact_json_text(v)}" for k, v in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ", ".join(_exact_json_text(v) for v in value) + "]"
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
        value = record.get(path, _MISSING) if "." not in path else lookup(record, path)
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
