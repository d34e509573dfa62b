"""Funding beneficiary / operation lists (CSV) → ``funding_operation`` rows.

Every source is described by registry options only (no Python per source):

``columns``
    mapping raw-table column → header text in the file. Headers are compared after collapsing
    whitespace (real headers hold newlines inside quotes) and case-folding. Columns left out
    are NULL. The header row is the first of the file's first 20 records that holds every configured
    header (title lines above it are skipped, with a note); when none does, ``ParseError`` names the
    missing header (schema drift).
``encoding``
    when set, the file is decoded with it, strictly. When not: UTF-8 (a BOM is accepted; UTF-16 with a
    BOM too); UTF-8 with a few damaged bytes (at least twice as many valid non-ASCII characters as invalid
    sequences: a cut download, a stray byte) is read as UTF-8 and the records holding the damage are
    rejected; else the legacy code page that ``charset-normalizer`` finds most plausible among the
    Windows and ISO-8859 code pages used in the EU; of equally plausible ones the code page of
    ``country_code``'s language wins (cp1250 for HR, cp1253 for GR, cp1252 for DE...). The detected
    encoding is stated in a note.
``delimiter``
    default ``,``.
``currency``
    ISO 4217 code for amounts without a currency; a symbol or code in the cell wins (``€``, ``£``,
    ``$``, ``kn``, ``Kč``, ``zł``, ``Ft``, ``lei``, ``лв``, ``EUR``, ``HRK``...).
``country_code`` / ``fund`` / ``programme``
    constants; ``fund`` and ``programme`` are used when there is no such column or its cell is empty.
``location_type``
    what ``location_name`` holds: ``city`` (default: a commune or an address, resolved to a GeoNames city),
    ``postcode`` (postcodes, perhaps followed by a place name: the tokens with digits are dropped and
    the rest resolved) or ``region`` (a region, county or province: never resolved, so "Nord-Pas de
    Calais" or "Cork" do not become the town of that name).
``default_city``
    the city of beneficiaries whose ``location_name`` names none (e.g. a postcode in a city-state's list;
    with ``location_type: region``, the city every operation is given).
``date_format``
    a ``strptime`` format or a list of them, tried in order. When not set, the date format is inferred per
    column (see below).
``year_only_dates``
    accept a bare year (``2010``): 1 January for ``start_date``, 31 December for ``end_date``.
``decimal``
    ``,``, ``.`` or ``auto`` (default): the decimal mark of amounts; the other of ``.``/``,`` groups thousands.
``rate_scale``
    ``percent`` or ``fraction`` (``0.4`` is 40 %); inferred per column when not set.

**One record, not the file.** A record that cannot be read (a cell in no form its column knows, more or
fewer fields than the header, the header repeated, a NUL character) is yielded as a
:class:`~observatory.parse.Rejected` (where: ``line N``, the reason naming the column and the cell, the raw
line) and the rest of the file loads. An unreadable amount (or one too large for ``numeric(18,2)``) rejects its
record (an operation without its amount would be another operation); an unreadable date or rate (or a rate
above 100 %) is NULL, with a note naming the line, the column and the cell (the first 20 per column; the rest
counted in one note). Placeholders for "no value" (``-``, ``–``, ``n/a``, ``k.A.``) are NULL, with a note per
column. A file that is no CSV of the configured columns at all (no header row, a configured header missing,
a quoted field running to the end) raises ``ParseError``.

**Decisions per column, from the whole column**, each stated in a note (``where="column amount"``), unless an
option above fixes it:

- decimal style of amounts (``decimal: auto``): the decimal mark that reads the more cells, a cell counting
  for a mark when it reads with it and at most two decimals (amounts are published to the cent at most,
  so ``191.000`` counts for the decimal comma, ``288.11`` for the point, ``81839`` for neither). Of a tie,
  the point for GB, IE and MT, else the comma. A cell that does not fit the column's mark rejects its record.
- date format: numeric dates are read day-first or month-first, whichever reads more cells of the column
  (of a tie, as the other date column, else day-first); forms that do not depend on it are always read: ISO
  ``2016-09-01`` (a time after it is dropped), month names in English, German, French, Dutch, Italian and
  Spanish (``31. Dez 18``, ``1er janvier 2016``, ``Tuesday, October 18, 2011``), 2- and 4-digit years,
  any of ``. / -`` as separator. The note names the formats read and how many cells each read (``%d/%m/%Y 20,
  year only 15``). A cell that reads only the other way is NULL.
- co-financing rate: bare numbers all at most 1 with some fractional are fractions (×100); else percents.
  A cell with ``%`` is a percent. Rates are percents in the raw table (``49,92%`` → ``49.92``).

Amounts are ``Decimal`` rounded to cents. ``city_name`` / ``geonames_id`` are the GeoNames city of the
first line of ``location_name`` within ``country_code`` (:func:`observatory.extract.locations.resolve_location`,
as ``location_type`` says), else of ``default_city``, else NULL. ``operation_key`` is the first 32 hex
digits of sha256(beneficiary|title|start_date|amount). Rows that produce the same key are all kept, the
2nd and later suffixed ``#2``, ``#3``…, so true duplicates in a publication stay visible to the quality gate
instead of being silently merged.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from observatory.extract.locations import LOCATION_TYPES, resolve_location
from observatory.parse import Note, ParseError, Rejected

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
DATE_FIELDS = ("start_date", "end_date")
TYPED_FIELDS = ("amount", "cofinancing_rate", *DATE_FIELDS)
CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "$": "USD"}
# a currency written before or after an amount → ISO 4217 (None: the source's ``currency``)
CURRENCY_TOKENS: dict[str, str | None] = {
    **CURRENCY_SYMBOLS,
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "gbp": "GBP",
    "usd": "USD",
    "kn": "HRK",
    "hrk": "HRK",
    "kuna": "HRK",
    "kune": "HRK",
    "kč": "CZK",
    "czk": "CZK",
    "zł": "PLN",
    "pln": "PLN",
    "ft": "HUF",
    "huf": "HUF",
    "lei": "RON",
    "ron": "RON",
    "лв": "BGN",
    "лв.": "BGN",
    "bgn": "BGN",
    "sek": "SEK",
    "dkk": "DKK",
    "nok": "NOK",
    "chf": "CHF",
    "kr": None,
    "kr.": None,
}
PLACEHOLDERS = frozenset({"-", "--", "---", "–", "—", "n/a", "n.a.", "na", "k.a.", "k. a.", "/", "?", "nd", "n.d."})
DECIMAL_POINT_COUNTRIES = frozenset({"GB", "IE", "MT"})
# legacy code pages EU beneficiary lists come in; the code page of a country's language breaks ties
LEGACY_ENCODINGS = (
    "cp1252",
    "cp1250",
    "cp1251",
    "cp1253",
    "cp1254",
    "cp1257",
    "iso8859_2",
    "iso8859_7",
    "iso8859_13",
    "iso8859_15",
)
_COUNTRY_CODE_PAGE = {
    **dict.fromkeys(("HR", "CZ", "SK", "PL", "HU", "SI", "RO", "AL", "BA", "RS", "ME"), "cp1250"),
    **dict.fromkeys(("GR", "CY"), "cp1253"),
    **dict.fromkeys(("BG", "MK", "UA"), "cp1251"),
    **dict.fromkeys(("LT", "LV", "EE"), "cp1257"),
    "TR": "cp1254",
}
DAMAGED_UTF8 = "encoding: UTF-8 with damaged bytes"
HEADER_SEARCH = 20  # records searched for the header row
CELL_NOTES = 20  # notes per column about single cells read as NULL; the rest are counted in one note
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal(10) ** 16  # funding_operation.amount is numeric(18,2)
RATE_PLACES = Decimal("0.0001")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # PostgreSQL text holds no NUL, UTF-8 no lone surrogate
_NUMBER = re.compile(r"-?[0-9][0-9.,]*")
_NO_CENTS = re.compile(r"(?<=[0-9])[.,][-–—]+$")  # "81.839,00.-", "1.234,-"
_APOSTROPHE_GROUPS = re.compile(r"-?[0-9]{1,3}(?:['’][0-9]{3})+(?:[.,][0-9]+)?")
_TOKENS = "|".join(re.escape(t) for t in sorted(CURRENCY_TOKENS, key=len, reverse=True))
_CURRENCY_HEAD = re.compile(rf"^(?P<cur>{_TOKENS})(?![^\W\d_])\s*", re.IGNORECASE)
_CURRENCY_TAIL = re.compile(rf"(?<![^\W\d_])\s*(?P<cur>{_TOKENS})$", re.IGNORECASE)


@dataclass(frozen=True)
class CellRecord:
    """One record's cells (text, or exact numbers from JSON) by raw column, with where it was and its raw text."""

    where: str
    raw: str
    cells: Mapping[str, str | Decimal | None]


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """Yield one ``funding_operation`` tuple per readable non-blank CSV record, a ``Rejected`` per other record
    and the notes of the decisions taken."""
    check_options(options, "columns")
    delimiter = options.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"funding_csv delimiter must be one character, not {delimiter!r}")
    text, encoding_note = decode_payload(payload, options.get("encoding"), options.get("country_code"))
    if encoding_note:
        yield encoding_note
    records = _csv_records(text, delimiter)
    header_line, header, skipped = _header(records, options["columns"])
    index = column_index(header, options["columns"])
    if skipped:
        yield Note("file", f"header row on line {header_line}; {skipped} line(s) above it skipped")
    damaged = encoding_note is not None and encoding_note.note.startswith(DAMAGED_UTF8)
    yield from typed_rows(_cell_records(records, header, index, damaged), options)


def check_options(options: Mapping[str, Any], mapping: str) -> None:
    """ValueError for options no file can satisfy (a registry mistake, not a bad file)."""
    columns = options.get(mapping) or {}
    if not columns:
        raise ValueError(f"funding options need a {mapping!r} mapping")
    unknown = set(columns) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown funding_operation columns in options: {sorted(unknown)}")
    if options.get("decimal", "auto") not in (",", ".", "auto"):
        raise ValueError(f"decimal must be ',', '.' or 'auto', not {options['decimal']!r}")
    if options.get("location_type", "city") not in LOCATION_TYPES:
        raise ValueError(f"location_type must be one of {list(LOCATION_TYPES)}, not {options['location_type']!r}")
    if options.get("rate_scale") not in (None, "percent", "fraction"):
        raise ValueError(f"rate_scale must be 'percent' or 'fraction', not {options['rate_scale']!r}")
    default = options.get("default_city")
    if default and resolve_location(str(default), options.get("country_code")) is None:
        raise ValueError(f"default_city {default!r} is not a city the gazetteer knows")


# --- bytes → text → records ------------------------------------------------------------------------------------


def decode_payload(payload: bytes, encoding: str | None, country_code: str | None = None) -> tuple[str, Note | None]:
    """The text of the payload and, when its encoding was detected, a note saying which it is."""
    if encoding:
        try:
            return payload.decode(encoding), None
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"funding CSV is not valid {encoding}: {exc}") from exc
    if payload.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return payload.decode("utf-16"), Note("file", "encoding: UTF-16 (byte order mark)")
        except UnicodeDecodeError as exc:
            raise ParseError(f"funding CSV starts with a UTF-16 byte order mark but is not UTF-16: {exc}") from exc
    try:
        return payload.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    text = payload.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for char in text if char > "\x7f") - bad
    if good >= 2 * bad:  # UTF-8 with a few damaged bytes (a cut download, a stray byte), not a legacy code page
        return text, Note("file", f"{DAMAGED_UTF8}: {bad} invalid byte sequence(s), the records holding them rejected")
    return _detected(payload, country_code)


def _detected(payload: bytes, country_code: str | None) -> tuple[str, Note]:
    """Decode a payload that is not UTF-8 with the legacy code page charset-normalizer finds most plausible."""
    from charset_normalizer import from_bytes

    matches = list(from_bytes(payload, cp_isolation=list(LEGACY_ENCODINGS)))
    if not matches:
        raise ParseError(
            "funding CSV is not UTF-8 and not in a code page charset-normalizer recognises; set the encoding option"
        )
    best = matches[0]
    chosen, why = best.encoding, "the most plausible"
    # of equally plausible code pages, the one of the country's language; without a country, charset-normalizer's
    preferred = _COUNTRY_CODE_PAGE.get(str(country_code).upper(), "cp1252") if country_code else best.encoding
    for match in matches:
        if match.chaos > best.chaos + 0.01 or match.coherence < best.coherence - 0.01:
            break
        if preferred in match.could_be_from_charset:
            if preferred != best.encoding:
                chosen, why = preferred, f"{preferred} for country {country_code or '?'} of the equally plausible"
            break
    try:
        text = payload.decode(chosen)
    except (UnicodeDecodeError, LookupError) as exc:  # charset-normalizer samples large payloads
        raise ParseError(f"funding CSV is not UTF-8 and not valid {chosen} either: {exc}; set the encoding") from exc
    languages = ", ".join(best.languages[:2]) or "unknown language"
    return text, Note("file", f"encoding: not UTF-8; detected {chosen} ({why}; {languages}; charset-normalizer)")


def _csv_records(text: str, delimiter: str) -> Iterator[tuple[int, str, list[str]]]:
    """(first line number, raw text, fields) of each CSV record; ParseError when the CSV cannot be read on."""
    consumed: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
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


def _header(records: Iterable[tuple[int, str, list[str]]], columns: Mapping[str, str]) -> tuple[int, list[str], int]:
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


def _cell_records(
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


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)``, shortened to about ``limit`` characters for a reason or a note."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 2]}…{text[-1]}"


def storable(text: str) -> str:
    """Text the warehouse can store: a NUL or an unpaired surrogate replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def unstorable_cell(cells: Mapping[str, str | Decimal | None]) -> str | None:
    """Why one of the cells cannot be stored as it is (a NUL, an unpaired surrogate), or None."""
    for name, cell in cells.items():
        if isinstance(cell, str) and _UNSTORABLE.search(cell):
            return f"column {name!r}, cell {storable(cell)!r}: holds a NUL or an unpaired surrogate"
    return None


def clean_text(cell: str) -> str | None:
    """Cell text with line endings unified to LF and outer whitespace stripped; '' → None."""
    text = cell.replace("\r\n", "\n").replace("\r", "\n").strip()
    return text or None


# --- records → typed rows ----------------------------------------------------------------------------------------


class CellError(ValueError):
    """A cell its column cannot read."""


def typed_rows(
    records: Iterable[CellRecord | Rejected], options: Mapping[str, Any]
) -> Iterator[tuple | Rejected | Note]:
    """``funding_operation`` tuples for the readable records, the others as ``Rejected`` (in file order), after the
    notes of the per-column decisions; keys repeated within the file suffixed ``#2``, ``#3``…"""
    items = list(records)
    columns = _Columns([r for r in items if isinstance(r, CellRecord)], options)
    yield from columns.notes
    seen: Counter[str] = Counter()
    for item in items:
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
        yield (key if seen[key] == 1 else f"{key}#{seen[key]}", *_ordered(converted, options))
    yield from columns.closing_notes()


class _Columns:
    """The per-column decisions for one file and the conversion of its records with them."""

    def __init__(self, records: Sequence[CellRecord], options: Mapping[str, Any]) -> None:
        self.options = options
        self.notes: list[Note] = []
        self._cell_notes: list[Note] = []
        self._nulls: Counter[str] = Counter()
        self._null_lines: defaultdict[str, list[str]] = defaultdict(list)
        placeholders: Counter[tuple[str, str]] = Counter()
        texts: dict[str, list[str]] = {name: [] for name in TYPED_FIELDS}
        for record in records:
            for name in TYPED_FIELDS:
                cell = record.cells.get(name)
                if isinstance(cell, Decimal) and name != "amount":
                    cell = format(cell, "f")
                if isinstance(cell, str):
                    if cell.casefold() in PLACEHOLDERS:
                        placeholders[(name, cell)] += 1
                    else:
                        texts[name].append(cell)
        for name in TYPED_FIELDS:
            marks = {cell: count for (column, cell), count in placeholders.items() if column == name}
            if marks:
                listed = ", ".join(f"{count} × {shown(cell)}" for cell, count in sorted(marks.items()))
                self.notes.append(Note(f"column {name}", f"{listed}: no value, read as NULL"))
        self.decimal = self._decide_decimal(texts["amount"])
        self.rate_factor = self._decide_rate(texts["cofinancing_rate"])
        self.date_orders = self._decide_date_orders(texts)

    # decisions

    def _decide_decimal(self, cells: list[str]) -> str:
        configured = self.options.get("decimal", "auto")
        if configured != "auto":
            return str(configured)
        votes: Counter[str] = Counter()
        either = 0
        for cell in cells:
            try:
                text, _ = amount_parts(cell)
            except CellError:
                continue
            fits = [mark for mark in (",", ".") if _fits(text, mark)]
            if len(fits) == 1:
                votes[fits[0]] += 1
            elif fits:
                either += 1
        country = str(self.options.get("country_code") or "").upper()
        currency = str(self.options.get("currency") or "").upper()
        default = "." if country in DECIMAL_POINT_COUNTRIES or (not country and currency in ("GBP", "USD")) else ","
        if not votes:
            return default
        if votes[","] == votes["."]:
            mark, basis = default, f"{votes[',']} cell(s) each way, so the default for country {country or '?'}"
        else:
            mark = "," if votes[","] > votes["."] else "."
            basis = f"{votes[mark]} cell(s) read only so, {votes[_other(mark)]} only the other way, {either} either way"
        style = "decimal comma, '.' groups thousands" if mark == "," else "decimal point, ',' groups thousands"
        self.notes.append(
            Note("column amount", f"{style} (from the whole column: {basis}); a cell that does not fit is rejected")
        )
        return mark

    def _decide_rate(self, cells: list[str]) -> Decimal:
        configured = self.options.get("rate_scale")
        if configured:
            return Decimal(100) if configured == "fraction" else Decimal(1)
        bare = []
        for cell in cells:
            try:
                value, percent = rate_parts(cell)
            except CellError:
                continue
            if not percent:
                bare.append((value, cell))
        if not bare:
            return Decimal(1)
        fractional = [cell for value, cell in bare if value != value.to_integral_value()]
        if all(value <= 1 for value, _ in bare) and fractional:
            self.notes.append(
                Note(
                    "column cofinancing_rate",
                    f"rates are fractions (all {len(bare)} bare values at most 1, some fractional such as "
                    f"{fractional[0]!r}): ×100 to percent",
                )
            )
            return Decimal(100)
        above = [cell for value, cell in bare if value > 1]
        why = f"some above 1 such as {above[0]!r}" if above else "none fractional"
        self.notes.append(Note("column cofinancing_rate", f"bare rates read as percents ({why})"))
        return Decimal(1)

    def _decide_date_orders(self, texts: Mapping[str, list[str]]) -> dict[str, str]:
        if self.options.get("date_format"):
            return {}
        year_only = bool(self.options.get("year_only_dates", False))
        counts: dict[str, Counter[str]] = {}
        labels: dict[str, dict[str, Counter[str]]] = {}
        for name in DATE_FIELDS:
            counts[name], labels[name] = Counter(), {"dmy": Counter(), "mdy": Counter()}
            for cell in texts[name]:
                readings = date_readings(cell, year_only)
                for order in ("dmy", "mdy"):
                    reading = readings[order]
                    if isinstance(reading, tuple):
                        counts[name][order] += 1
                        labels[name][order][reading[1]] += 1
        decided = {name: _winner(counts[name]) for name in DATE_FIELDS}
        orders = {}
        for name in DATE_FIELDS:
            if not texts[name]:
                continue
            found = decided[name]
            if found is None:
                other = next((decided[n] for n in DATE_FIELDS if n != name and decided[n]), None)
                order, basis = (other, "as the other date column") if other else ("dmy", "no cell decides: default")
            else:
                order = found
                basis = f"reads {counts[name][order]} cells, the other way {counts[name][_flip(order)]}"
            orders[name] = order
            formats = ", ".join(f"{label} {n}" for label, n in labels[name][order].most_common())
            way = "day-first" if order == "dmy" else "month-first"
            unread = len(texts[name]) - counts[name][order]
            tail = f"; {unread} cell(s) not read: NULL" if unread else ""
            self.notes.append(
                Note(
                    f"column {name}",
                    f"dates read {way} ({basis}); formats: {formats or 'none'} of {len(texts[name])} cells{tail}",
                )
            )
        return orders

    # conversion

    def convert(self, record: CellRecord) -> dict[str, Any] | Rejected:
        """The typed operation of one record, or its ``Rejected``; cells read as NULL are noted."""
        row: dict[str, Any] = dict.fromkeys(FIELDS)
        row["currency"] = None
        unread: list[tuple[str, str | Decimal | None, str]] = []
        for name, cell in record.cells.items():
            if isinstance(cell, str) and name in TYPED_FIELDS and cell.casefold() in PLACEHOLDERS:
                continue
            try:
                self._convert(row, name, cell)
            except CellError as exc:
                if name == "amount":
                    return Rejected(record.where, f"column {name!r}, cell {shown(cell)}: {exc}", record.raw)
                unread.append((name, cell, str(exc)))
        for name, cell, reason in unread:  # noted only for a record that loads
            self._null(record.where, name, cell, reason)
        return row

    def _convert(self, row: dict[str, Any], name: str, cell: str | Decimal | None) -> None:
        if cell is None:
            return
        if name == "amount":
            if isinstance(cell, Decimal):
                row["amount"], row["currency"] = cents(cell), self.options.get("currency")
                return
            row["amount"], row["currency"] = self._amount(cell)
            return
        text = cell if isinstance(cell, str) else format(cell, "f")
        if name == "cofinancing_rate":
            row[name] = self._rate(text)
        elif name in DATE_FIELDS:
            row[name] = self._date(text, name)
        else:
            row[name] = text

    def _amount(self, cell: str) -> tuple[Decimal, str | None]:
        text, currency = amount_parts(cell)
        inferred = self.options.get("decimal", "auto") == "auto"
        if inferred and not _fits(text, self.decimal) and _NUMBER.fullmatch(text):
            mark = "comma" if self.decimal == "," else "point"
            raise CellError(f"does not fit the column's decimal {mark} ({_why_not(text, self.decimal)})")
        try:
            value = parse_number(text, self.decimal)
        except ValueError as exc:
            raise CellError(str(exc)) from exc
        return cents(value), currency or self.options.get("currency")

    def _rate(self, cell: str) -> Decimal:
        value, percent = rate_parts(cell)
        rate = value if percent else value * self.rate_factor
        if rate > 100:
            raise CellError("rate above 100%")
        return rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)

    def _date(self, cell: str, name: str) -> date:
        is_end = name == "end_date"
        year_only = bool(self.options.get("year_only_dates", False))
        formats = self.options.get("date_format")
        if formats:
            try:
                value = parse_date(cell, formats, year_only, is_end)
            except ValueError as exc:
                raise CellError(str(exc)) from exc
            assert value is not None  # the cell is not empty
            return value
        order = self.date_orders.get(name, "dmy")
        readings = date_readings(cell, year_only)
        reading, other = readings[order], readings[_flip(order)]
        if isinstance(reading, str):
            if isinstance(other, tuple):
                way, other_way = ("day-first", "month-first") if order == "dmy" else ("month-first", "day-first")
                raise CellError(f"reads only {other_way} ({other[0].isoformat()}); the column is {way}")
            raise CellError(reading)
        value = reading[0]
        if reading[1] == "year only":
            return date(value.year, 12, 31) if is_end else value
        return value

    # notes about cells

    def _null(self, where: str, name: str, cell: str | Decimal | None, reason: str) -> None:
        self._nulls[name] += 1
        if self._nulls[name] <= CELL_NOTES:
            self._cell_notes.append(Note(where, f"column {name!r}, cell {shown(cell)}: {reason}; read as NULL"))
        else:
            self._null_lines[name].append(where)

    def take_cell_notes(self) -> list[Note]:
        notes, self._cell_notes = self._cell_notes, []
        return notes

    def closing_notes(self) -> Iterator[Note]:
        for name, wheres in self._null_lines.items():
            shown = ", ".join(w.removeprefix("line ") for w in wheres[:10]) + (" …" if len(wheres) > 10 else "")
            yield Note(f"column {name}", f"{len(wheres)} more cells read as NULL (not noted one by one): {shown}")


def _other(mark: str) -> str:
    return "." if mark == "," else ","


def _flip(order: str) -> str:
    return "mdy" if order == "dmy" else "dmy"


def _winner(counts: Counter[str]) -> str | None:
    if counts["dmy"] == counts["mdy"]:
        return None
    return "dmy" if counts["dmy"] > counts["mdy"] else "mdy"


# --- amounts -----------------------------------------------------------------------------------------------------


def amount_parts(cell: str) -> tuple[str, str | None]:
    """The number text of an amount cell and the currency it names: ``'5.172.338,50 kn'`` → ``('5.172.338,50',
    'HRK')``, ``'81.839,00.- €'`` → ``('81.839,00', 'EUR')``; CellError when it names several currencies."""
    text, codes = cell.strip(), set()
    while True:
        match = _CURRENCY_HEAD.match(text) or _CURRENCY_TAIL.search(text)
        if not match or match.end() - match.start() == len(text):
            break
        code = CURRENCY_TOKENS[match.group("cur").casefold()]
        if code:
            codes.add(code)
        text = (text[: match.start()] + text[match.end() :]).strip()
    if len(codes) > 1:
        raise CellError("several currencies")
    number = _NO_CENTS.sub("", _SPACES.sub("", text).replace("−", "-"))
    if _APOSTROPHE_GROUPS.fullmatch(number):
        number = number.replace("'", "").replace("’", "")
    return number, codes.pop() if codes else None


def parse_number(text: str, decimal: str) -> Decimal:
    """Read a number written with ``decimal`` as decimal mark (the other of ``.``/``,`` groups thousands).

    With ``decimal='auto'`` the mark is chosen for this one cell (files decide per column, see the module
    docstring): when both ``.`` and ``,`` occur the last one is the mark; a separator occurring more than once
    groups thousands; a single separator followed by 1-2 digits is the mark, followed by exactly 3 digits it
    groups thousands (amounts are published to the cent at most, so ``191.000`` is 191000). Anything else is
    an error.
    """
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"not an amount: {shown(text)}")
    mark = _decimal_mark(text) if decimal == "auto" else decimal
    if mark not in (",", "."):
        raise ValueError(f"decimal must be ',', '.' or 'auto', not {decimal!r}")
    group = _other(mark)
    whole, _, fraction = text.partition(mark)
    sign = "-" if whole.startswith("-") else ""
    groups = whole.lstrip("-").split(group)
    if mark in fraction or group in fraction or not _valid_grouping(groups) or (mark in text and not fraction):
        raise ValueError(f"bad digit grouping in {shown(text)} (decimal mark {mark!r})")
    return Decimal(f"{sign}{''.join(groups)}.{fraction or '0'}")


def cents(value: Decimal) -> Decimal:
    """An amount rounded to cents; CellError when it is no finite number or too large for ``numeric(18,2)``."""
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        raise CellError(f"not an amount the warehouse can hold (at most 16 digits before the decimal mark): {value}")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _fits(text: str, mark: str) -> bool:
    """Whether an amount reads with ``mark`` as decimal mark and at most two decimals."""
    try:
        parse_number(text, mark)
    except ValueError:
        return False
    return mark not in text or len(text) - text.rindex(mark) - 1 <= 2


def _why_not(text: str, mark: str) -> str:
    if mark in text and len(text) - text.rindex(mark) - 1 > 2:
        return f"{len(text) - text.rindex(mark) - 1} decimals"
    return f"{_other(mark)!r} groups thousands there"


def _decimal_mark(text: str) -> str:
    """The decimal mark of one cell under the ``auto`` rule."""
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        return "." if text.rfind(".") > text.rfind(",") else ","
    separator = "." if dots else ","
    if dots + commas == 0 or dots + commas > 1:
        return _other(separator)
    digits_after = len(text) - text.index(separator) - 1
    if digits_after in (1, 2):
        return separator
    if digits_after == 3:
        return _other(separator)
    raise ValueError(f"ambiguous separator in {shown(text)}")


def _valid_grouping(groups: Sequence[str]) -> bool:
    head, *rest = groups
    if not head.isdigit() or (rest and (len(head) > 3 or head.startswith("0"))):
        return False
    return all(len(g) == 3 and g.isdigit() for g in rest)


# --- rates -------------------------------------------------------------------------------------------------------


def rate_parts(cell: str) -> tuple[Decimal, bool]:
    """The number of a rate cell and whether it carries ``%``: ``' (45%)'`` → ``(Decimal('45'), True)``."""
    text = _SPACES.sub("", cell).strip("()")
    percent = text.endswith("%")
    text = text.removesuffix("%")
    if not re.fullmatch(r"[0-9]+([.,][0-9]+)?|[.,][0-9]+", text):
        raise CellError("not a percentage")
    try:
        return Decimal(text.replace(",", ".")), percent
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise CellError("not a percentage") from exc


# --- dates -------------------------------------------------------------------------------------------------------

_MONTHS = {
    # English
    **dict.fromkeys(("january", "jan"), 1),
    **dict.fromkeys(("february", "feb"), 2),
    **dict.fromkeys(("march", "mar"), 3),
    **dict.fromkeys(("april", "apr"), 4),
    **dict.fromkeys(("may",), 5),
    **dict.fromkeys(("june", "jun"), 6),
    **dict.fromkeys(("july", "jul"), 7),
    **dict.fromkeys(("august", "aug"), 8),
    **dict.fromkeys(("september", "sep", "sept"), 9),
    **dict.fromkeys(("october", "oct"), 10),
    **dict.fromkeys(("november", "nov"), 11),
    **dict.fromkeys(("december", "dec"), 12),
    # German
    **dict.fromkeys(("januar", "jänner", "jän", "jaen"), 1),
    **dict.fromkeys(("februar", "feber"), 2),
    **dict.fromkeys(("märz", "mär", "mrz", "maerz"), 3),
    **dict.fromkeys(("mai",), 5),
    **dict.fromkeys(("juni",), 6),
    **dict.fromkeys(("juli",), 7),
    **dict.fromkeys(("oktober", "okt"), 10),
    **dict.fromkeys(("dezember", "dez"), 12),
    # French
    **dict.fromkeys(("janvier", "janv"), 1),
    **dict.fromkeys(("février", "févr", "fevrier", "fevr", "fév", "fev"), 2),
    **dict.fromkeys(("mars",), 3),
    **dict.fromkeys(("avril", "avr"), 4),
    **dict.fromkeys(("juin",), 6),
    **dict.fromkeys(("juillet", "juil"), 7),
    **dict.fromkeys(("août", "aout", "aoû"), 8),
    **dict.fromkeys(("septembre",), 9),
    **dict.fromkeys(("octobre",), 10),
    **dict.fromkeys(("novembre",), 11),
    **dict.fromkeys(("décembre", "decembre", "déc"), 12),
    # Dutch, Italian, Spanish
    **dict.fromkeys(("januari", "gennaio", "gen", "enero", "ene"), 1),
    **dict.fromkeys(("februari", "febbraio", "febrero"), 2),
    **dict.fromkeys(("maart", "mrt", "marzo"), 3),
    **dict.fromkeys(("aprile", "abril", "abr"), 4),
    **dict.fromkeys(("mei", "maggio", "mag", "mayo"), 5),
    **dict.fromkeys(("giugno", "giu", "junio"), 6),
    **dict.fromkeys(("luglio", "lug", "julio"), 7),
    **dict.fromkeys(("augustus", "agosto", "ago"), 8),
    **dict.fromkeys(("settembre", "set", "septiembre", "setiembre"), 9),
    **dict.fromkeys(("oktober", "ottobre", "ott", "octubre"), 10),
    **dict.fromkeys(("noviembre",), 11),
    **dict.fromkeys(("dicembre", "dic", "diciembre"), 12),
}
_WEEKDAY = re.compile(
    r"^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun"
    r"|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|mo|di|mi|do|fr|sa|so"
    r"|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\.?,?\s+",
    re.IGNORECASE,
)
_TIME = re.compile(r"(?:T|\s+)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|UTC)?$", re.IGNORECASE)
_ISO = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})\.?")
_NUMERIC = re.compile(r"(\d{1,2})\s*([./-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})\.?")
_DAY_MONTH = re.compile(r"(\d{1,2})(?:\.|er|st|nd|rd|th)?\s*[-/ ]?\s*([^\W\d_]+)\.?\s*[-/ ,]?\s*(\d{4}|\d{2})\.?")
_MONTH_DAY = re.compile(r"([^\W\d_]+)\.?\s*[-/ ]?\s*(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4}|\d{2})")
_YEAR = re.compile(r"[12][0-9]{3}")

DateReading = tuple[date, str] | str  # (the date, the format that read it) or why it is no date


def _year(text: str) -> int:
    value = int(text)
    if len(text) == 2:  # as strptime's %y
        return value + (2000 if value < 69 else 1900)
    return value


def _made(year: int, month: int, day: int, label: str) -> DateReading:
    try:
        return date(year, month, day), label
    except ValueError as exc:
        return f"no date ({exc}, reading {label})"


def date_readings(cell: str, year_only: bool) -> dict[str, DateReading]:
    """The readings of a date cell day-first (``dmy``) and month-first (``mdy``): the same for a form that does not
    depend on the order (ISO, month names, a bare year); a reason instead of a date when it is none."""
    text = _SPACES.sub(" ", cell.strip())
    weekday = _WEEKDAY.match(text)
    if weekday:
        text = text[weekday.end() :]
    text = _TIME.sub("", text).strip()
    prefix = "%A, " if weekday else ""
    if _YEAR.fullmatch(text):
        if year_only:
            reading: DateReading = (date(int(text), 1, 1), "year only")
        else:
            reading = "a bare year (the source does not set year_only_dates)"
        return {"dmy": reading, "mdy": reading}
    if match := _ISO.fullmatch(text):
        year, sep, month, day = match.groups()
        reading = _made(int(year), int(month), int(day), f"%Y{sep}%m{sep}%d")
        return {"dmy": reading, "mdy": reading}
    if match := _NUMERIC.fullmatch(text):
        first, sep, second, year = match.groups()
        y = "%Y" if len(year) == 4 else "%y"
        return {
            "dmy": _made(_year(year), int(second), int(first), f"%d{sep}%m{sep}{y}"),
            "mdy": _made(_year(year), int(first), int(second), f"%m{sep}%d{sep}{y}"),
        }
    for pattern, day_first in ((_DAY_MONTH, True), (_MONTH_DAY, False)):
        if match := pattern.fullmatch(text):
            day, name, year = match.groups() if day_first else (match[2], match[1], match[3])
            month = _MONTHS.get(name.casefold().rstrip("."))
            if month is None:
                reason = f"{shown(name)} is no month name this parser knows"
                return {"dmy": reason, "mdy": reason}
            y = "%Y" if len(year) == 4 else "%y"
            label = f"{prefix}%d %b {y}" if day_first else f"{prefix}%B %d, {y}"
            reading = _made(_year(year), month, int(day), label)
            return {"dmy": reading, "mdy": reading}
    reason = "in no date format this parser knows"
    return {"dmy": reason, "mdy": reason}


def parse_date(cell: str | None, formats: str | Sequence[str], year_only: bool, is_end: bool) -> date | None:
    """Parse with the first matching configured format; a bare year when ``year_only`` (start → Jan 1, end → Dec 31)."""
    if cell is None:
        return None
    if year_only and re.fullmatch(r"[0-9]{4}", cell):
        return date(int(cell), 12, 31) if is_end else date(int(cell), 1, 1)
    candidates = [formats] if isinstance(formats, str) else list(formats)
    for fmt in candidates:
        try:
            return datetime.strptime(cell, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"matches none of the configured formats {candidates}")


# --- keys and rows -----------------------------------------------------------------------------------------------


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
    place = resolve_location(first_line, country, options.get("location_type", "city")) or resolve_location(
        options.get("default_city"), country
    )
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
