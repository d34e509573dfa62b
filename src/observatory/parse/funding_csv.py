"""Funding beneficiary / operation lists (CSV) → ``funding_operation`` rows.

Every source is described by registry options only (no Python per source):

``columns``
    mapping raw-table column → header text in the file. Headers are compared after collapsing
    whitespace (real headers hold newlines inside quotes) and case-folding. Columns left out
    are NULL. A configured header missing from the file raises ``ParseError`` (schema drift).
``encoding``
    default: UTF-8 (a BOM is accepted), falling back to cp1252.
``delimiter``
    default ``,``.
``currency``
    ISO 4217 code for amounts without a symbol; a ``€``, ``£`` or ``$`` in the cell wins.
``country_code`` / ``fund`` / ``programme``
    constants; ``fund`` and ``programme`` are used when there is no such column or its cell is empty.
``default_city``
    the city of beneficiaries whose ``location_name`` names none (e.g. a postcode in a city-state's list).
``date_format``
    a ``strptime`` format or a list of them; default ``%d.%m.%Y``, ``%Y-%m-%d``, ``%d/%m/%Y``.
``year_only_dates``
    accept a bare year (``2010``): 1 January for ``start_date``, 31 December for ``end_date``.
``decimal``
    ``,``, ``.`` or ``auto`` (default). See :func:`parse_number` for the ``auto`` rule.

Amounts are ``Decimal`` rounded to cents, rates are percents (``49,92%`` → ``49.92``).
``city_name`` / ``geonames_id`` are the GeoNames city of the first line of ``location_name`` within
``country_code`` (:func:`observatory.extract.locations.resolve_location`), else of ``default_city``, else NULL.
``operation_key`` is the first 32 hex digits of sha256(beneficiary|title|start_date|amount).
Rows that produce the same key are all kept, the 2nd and later suffixed ``#2``, ``#3``…, so true
duplicates in a publication stay visible to the quality gate instead of being silently merged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from observatory.extract.locations import resolve_location
from observatory.parse import ParseError

RAW_TABLE = "funding_operation"

FIELDS = (
    "beneficiary_name",
    "operation_title",
    "operation_summary",
    "start_date",
    "end_date",
    "amount",
    "cofinancing_rate",
    "location_code",
    "location_name",
    "fund",
    "theme",
    "programme",
)
DEFAULT_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y")
CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD"}
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_NUMBER = re.compile(r"-?[0-9][0-9.,]*")


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple]:
    """Yield one ``funding_operation`` tuple per non-blank CSV record."""
    text = decode(payload, options.get("encoding"))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=options.get("delimiter", ","))
    records = _records(reader)
    header = next(records, None)
    if header is None:
        raise ParseError("funding CSV is empty: no header row")
    index = column_index(header, options.get("columns") or {})
    yield from keyed_rows(_operations(reader, records, header, index, options), options)


def _operations(
    reader: Any, records: Iterator[list[str]], header: list[str], index: Mapping[str, int], options: Mapping[str, Any]
) -> Iterator[dict]:
    next_line = reader.line_num + 1
    for record in records:
        line, next_line = next_line, reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raise ParseError(f"line {line}: {len(record)} fields, header has {len(header)}")
        cells = {field: clean_text(record[position]) for field, position in index.items()}
        yield typed_operation(cells, options, f"line {line}")


def keyed_rows(operations: Iterator[dict], options: Mapping[str, Any]) -> Iterator[tuple]:
    """``funding_operation`` tuples for typed operations, keyed (repeated keys suffixed ``#2``, ``#3``…)."""
    seen: Counter[str] = Counter()
    for row in operations:
        key = operation_key(row)
        seen[key] += 1
        yield (key if seen[key] == 1 else f"{key}#{seen[key]}", *_ordered(row, options))


def _records(reader: Any) -> Iterator[list[str]]:
    """The reader's records, with ``csv.Error`` turned into ``ParseError``."""
    try:
        yield from reader
    except csv.Error as exc:
        raise ParseError(f"malformed CSV near line {reader.line_num}: {exc}") from exc


def decode(payload: bytes, encoding: str | None) -> str:
    """Decode with the configured encoding, else UTF-8 (BOM stripped) falling back to cp1252."""
    for candidate in [encoding] if encoding else ["utf-8-sig", "cp1252"]:
        try:
            return payload.decode(candidate)
        except UnicodeDecodeError as exc:
            last = exc
    raise ParseError(f"funding CSV is not valid {encoding or 'UTF-8 or cp1252'}: {last}")


def _normalise_header(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split()).casefold()


def column_index(header: Sequence[str], columns: Mapping[str, str]) -> dict[str, int]:
    """Map each configured raw column to its position in ``header``; ParseError on drift."""
    if not columns:
        raise ValueError("funding_csv options need a 'columns' mapping")
    unknown = set(columns) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown funding_operation columns in options: {sorted(unknown)}")
    found = [_normalise_header(h) for h in header]
    index = {}
    for field, wanted in columns.items():
        positions = [i for i, h in enumerate(found) if h == _normalise_header(wanted)]
        if len(positions) != 1:
            problem = "not found" if not positions else "found more than once"
            raise ParseError(f"column {field!r}: header {wanted!r} {problem}; headers found: {list(header)}")
        index[field] = positions[0]
    return index


def clean_text(cell: str) -> str | None:
    """Cell text with line endings unified to LF and outer whitespace stripped; '' → None."""
    text = cell.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text or None


def typed_operation(cells: Mapping[str, str | Decimal | None], options: Mapping[str, Any], where: str) -> dict:
    """Typed values of one operation from its cells (text, or numbers from JSON), keyed by raw column;
    ParseError names ``where``, the column and the cell."""
    row: dict[str, Any] = {field: None for field in FIELDS}
    row["currency"] = None
    for field, cell in cells.items():
        try:
            _convert(row, field, cell, options)
        except ValueError as exc:
            raise ParseError(f"{where}, column {field!r}, cell {cell!r}: {exc}") from exc
    return row


def _convert(row: dict, field: str, cell: str | Decimal | None, options: Mapping[str, Any]) -> None:
    """Set ``row[field]`` from one cell; a number (from JSON) is an exact amount, else read as its text."""
    if isinstance(cell, Decimal):
        if field == "amount":
            row["amount"], row["currency"] = cell.quantize(CENT, rounding=ROUND_HALF_UP), options.get("currency")
            return
        cell = format(cell, "f")
    if field == "amount":
        row["amount"], row["currency"] = parse_amount(cell, options.get("decimal", "auto"), options.get("currency"))
    elif field == "cofinancing_rate":
        row[field] = parse_rate(cell)
    elif field in ("start_date", "end_date"):
        row[field] = parse_date(
            cell, options.get("date_format"), options.get("year_only_dates", False), field == "end_date"
        )
    else:
        row[field] = cell


def parse_amount(cell: str | None, decimal: str, currency: str | None) -> tuple[Decimal | None, str | None]:
    """``'91.100,16 €'`` → ``(Decimal('91100.16'), 'EUR')``; an empty cell → ``(None, None)``."""
    if cell is None:
        return None, None
    symbols = {code for symbol, code in CURRENCY_SYMBOLS.items() if symbol in cell}
    if len(symbols) > 1:
        raise ValueError(f"several currencies in amount {cell!r}")
    number = _SPACES.sub("", cell.translate({ord(s): None for s in CURRENCY_SYMBOLS}))
    value = parse_number(number, decimal).quantize(CENT, rounding=ROUND_HALF_UP)
    return value, symbols.pop() if symbols else currency


def parse_number(text: str, decimal: str) -> Decimal:
    """Read a number written with ``decimal`` as decimal mark (the other of ``.``/``,`` groups thousands).

    With ``decimal='auto'`` the mark is chosen per cell: when both ``.`` and ``,`` occur the last
    one is the mark; a separator occurring more than once groups thousands; a single separator
    followed by 1-2 digits is the mark, followed by exactly 3 digits it groups thousands (amounts
    are published to the cent at most, so ``191.000`` is 191000). Anything else is an error.
    """
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"not an amount: {text!r}")
    mark = _decimal_mark(text) if decimal == "auto" else decimal
    if mark not in (",", "."):
        raise ValueError(f"decimal must be ',', '.' or 'auto', not {decimal!r}")
    group = "." if mark == "," else ","
    whole, _, fraction = text.partition(mark)
    sign = "-" if whole.startswith("-") else ""
    groups = whole.lstrip("-").split(group)
    if mark in fraction or group in fraction or not _valid_grouping(groups):
        raise ValueError(f"bad digit grouping in {text!r} (decimal mark {mark!r})")
    return Decimal(f"{sign}{''.join(groups)}.{fraction or '0'}")


def _decimal_mark(text: str) -> str:
    """The decimal mark of one cell under the ``auto`` rule."""
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        return "." if text.rfind(".") > text.rfind(",") else ","
    separator = "." if dots else ","
    if dots + commas == 0 or dots + commas > 1:
        return "," if separator == "." else "."
    digits_after = len(text) - text.index(separator) - 1
    if digits_after in (1, 2):
        return separator
    if digits_after == 3:
        return "," if separator == "." else "."
    raise ValueError(f"ambiguous separator in {text!r}")


def _valid_grouping(groups: Sequence[str]) -> bool:
    head, *rest = groups
    if not head.isdigit() or (rest and len(head) > 3):
        return False
    return all(len(g) == 3 and g.isdigit() for g in rest)


def parse_rate(cell: str | None) -> Decimal | None:
    """A co-financing percentage: ``'49,92%'`` or ``' (45%)'`` → ``Decimal('49.92')``, ``45``."""
    if cell is None:
        return None
    text = _SPACES.sub("", cell).strip("()").removesuffix("%")
    if not re.fullmatch(r"[0-9]+([.,][0-9]+)?", text):
        raise ValueError(f"not a percentage: {cell!r}")
    rate = Decimal(text.replace(",", ".")).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
    if rate > 100:
        raise ValueError(f"rate above 100%: {cell!r}")
    return rate


def parse_date(cell: str | None, formats: str | Sequence[str] | None, year_only: bool, is_end: bool) -> date | None:
    """Parse with the first matching format; a bare year when ``year_only`` (start → Jan 1, end → Dec 31)."""
    if cell is None:
        return None
    if year_only and re.fullmatch(r"[0-9]{4}", cell):
        return date(int(cell), 12, 31) if is_end else date(int(cell), 1, 1)
    candidates = [formats] if isinstance(formats, str) else formats or DEFAULT_DATE_FORMATS
    for fmt in candidates:
        try:
            return datetime.strptime(cell, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"date {cell!r} matches none of {list(candidates)}")


def operation_key(row: Mapping[str, Any]) -> str:
    """First 32 hex digits of sha256(beneficiary|title|start_date|amount); stable across reruns."""
    start, amount = row["start_date"], row["amount"]
    parts = (
        row["beneficiary_name"] or "",
        row["operation_title"] or "",
        start.isoformat() if start else "",
        str(amount) if amount is not None else "",
    )
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:32]


def _ordered(row: Mapping[str, Any], options: Mapping[str, Any]) -> tuple:
    """The row in ``funding_operation`` column order, after ``operation_key``."""
    country = options.get("country_code")
    first_line = (row["location_name"] or "").split("\n", 1)[0]
    place = resolve_location(first_line, country) or resolve_location(options.get("default_city"), country)
    if place is None and options.get("default_city"):
        raise ValueError(f"default_city {options['default_city']!r} is not a city the gazetteer knows")
    return (
        row["beneficiary_name"],
        row["operation_title"],
        row["operation_summary"],
        row["start_date"],
        row["end_date"],
        row["amount"],
        row["currency"],
        row["cofinancing_rate"],
        row["location_code"],
        row["location_name"],
        options.get("country_code"),
        row["fund"] or options.get("fund"),
        row["theme"],
        row["programme"] or options.get("programme"),
        place.city_name if place else None,
        place.geonames_id if place else None,
    )
