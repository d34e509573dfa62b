"""The per-column decisions for one file's records (placeholders, decimal mark, rate scale, date order) and the
conversion of each record with them, noting the cells read as NULL."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from observatory.parse import Note, Rejected
from observatory.parse.funding.amounts import cents, decide_decimal, read_amount
from observatory.parse.funding.cells import (
    DATE_FIELDS,
    FIELDS,
    PLACEHOLDERS,
    TYPED_FIELDS,
    CellError,
    CellRecord,
    shown,
)
from observatory.parse.funding.dates import decide_date_orders, read_date
from observatory.parse.funding.rates import decide_rate_factor, read_rate

CELL_NOTES = 20  # notes per column about single cells read as NULL; the rest are counted in one note


class Columns:
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
        self.decimal, decimal_note = decide_decimal(texts["amount"], options)
        self.rate_factor, rate_note = decide_rate_factor(texts["cofinancing_rate"], options)
        self.notes.extend(note for note in (decimal_note, rate_note) if note is not None)
        self.date_orders, date_notes = decide_date_orders(texts, options)
        self.notes.extend(date_notes)

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
            row["amount"], row["currency"] = read_amount(cell, self.decimal, self.options)
            return
        text = cell if isinstance(cell, str) else format(cell, "f")
        if name == "cofinancing_rate":
            row[name] = read_rate(text, self.rate_factor)
        elif name in DATE_FIELDS:
            row[name] = read_date(text, name, self.date_orders.get(name, "dmy"), self.options)
        else:
            row[name] = text

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
