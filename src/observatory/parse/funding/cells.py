"""The ``funding_operation`` columns, one record's cells, and the text helpers every funding reader shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

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
PLACEHOLDERS = frozenset({"-", "--", "---", "–", "—", "n/a", "n.a.", "na", "k.a.", "k. a.", "/", "?", "nd", "n.d."})
SPACES = re.compile(r"[\s\u00a0\u202f\u2009]+")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # PostgreSQL text holds no NUL, UTF-8 no lone surrogate


@dataclass(frozen=True)
class CellRecord:
    """One record's cells (text, or exact numbers from JSON) by raw column, with where it was and its raw text."""

    where: str
    raw: str
    cells: Mapping[str, str | Decimal | None]


class CellError(ValueError):
    """A cell its column cannot read."""


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
