"""Co-financing rate cells: their number, percent or fraction, and the scale of a whole column."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from observatory.parse import Note
from observatory.parse.funding.cells import SPACES, CellError

RATE_PLACES = Decimal("0.0001")


def rate_parts(cell: str) -> tuple[Decimal, bool]:
    """The number of a rate cell and whether it carries ``%``: ``' (45%)'`` → ``(Decimal('45'), True)``."""
    text = SPACES.sub("", cell).strip("()")
    percent = text.endswith("%")
    text = text.removesuffix("%")
    if not re.fullmatch(r"[0-9]+([.,][0-9]+)?|[.,][0-9]+", text):
        raise CellError("not a percentage")
    try:
        return Decimal(text.replace(",", ".")), percent
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only numbers
        raise CellError("not a percentage") from exc


def decide_rate_factor(cells: list[str], options: Mapping[str, Any]) -> tuple[Decimal, Note | None]:
    """The factor turning a rate column's bare numbers into percents (the ``rate_scale`` option, else 100 when they
    are all at most 1 with some fractional) and the note saying so when it was inferred from the cells."""
    configured = options.get("rate_scale")
    if configured:
        return (Decimal(100) if configured == "fraction" else Decimal(1)), None
    bare = []
    for cell in cells:
        try:
            value, percent = rate_parts(cell)
        except CellError:
            continue
        if not percent:
            bare.append((value, cell))
    if not bare:
        return Decimal(1), None
    fractional = [cell for value, cell in bare if value != value.to_integral_value()]
    if all(value <= 1 for value, _ in bare) and fractional:
        return Decimal(100), Note(
            "column cofinancing_rate",
            f"rates are fractions (all {len(bare)} bare values at most 1, some fractional such as "
            f"{fractional[0]!r}): ×100 to percent",
        )
    above = [cell for value, cell in bare if value > 1]
    why = f"some above 1 such as {above[0]!r}" if above else "none fractional"
    return Decimal(1), Note("column cofinancing_rate", f"bare rates read as percents ({why})")


def read_rate(cell: str, factor: Decimal) -> Decimal:
    """The percent of a rate cell, a bare number multiplied by ``factor``; CellError when it is none or above 100 %."""
    value, percent = rate_parts(cell)
    rate = value if percent else value * factor
    if rate > 100:
        raise CellError("rate above 100%")
    return rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
