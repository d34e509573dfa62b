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

**Streaming.** ``parse_file`` reads a file as a stream (gunzipped as it is read), decoding it a chunk at a time
(``observatory.parse.funding.decoding``: a file in a legacy code page is read whole for the detection); the records
are held until the end, since the decisions below need whole columns.

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

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from observatory.parse import Note, Rejected
from observatory.parse.compression import Opener, file_opener, payload_opener
from observatory.parse.funding.amounts import parse_number as parse_number
from observatory.parse.funding.decoding import DAMAGED_UTF8, open_text
from observatory.parse.funding.options import check_options
from observatory.parse.funding.records import cell_records, column_index, csv_records, find_header
from observatory.parse.funding.rows import operation_key as operation_key
from observatory.parse.funding.rows import typed_rows

RAW_TABLE = "funding_operation"


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """Yield one ``funding_operation`` tuple per readable non-blank CSV record, a ``Rejected`` per other record
    and the notes of the decisions taken."""
    return _parse(payload_opener(payload), options)


def parse_file(path: Path, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """``parse`` of the file at ``path``, streamed."""
    return _parse(file_opener(path), options)


def _parse(opener: Opener, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    check_options(options, "columns")
    delimiter = options.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"funding_csv delimiter must be one character, not {delimiter!r}")
    text, encoding_note = open_text(opener, options.get("encoding"), options.get("country_code"))
    with text:
        if encoding_note:
            yield encoding_note
        records = csv_records(text, delimiter)
        header_line, header, skipped = find_header(records, options["columns"])
        index = column_index(header, options["columns"])
        if skipped:
            yield Note("file", f"header row on line {header_line}; {skipped} line(s) above it skipped")
        damaged = encoding_note is not None and encoding_note.note.startswith(DAMAGED_UTF8)
        yield from typed_rows(cell_records(records, header, index, damaged), options)
