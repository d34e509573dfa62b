"""Records → ``funding_operation`` rows: each keyed by ``operation_key`` (repeats suffixed), its place resolved."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from observatory.extract.locations import resolve_location
from observatory.parse import Note, Rejected
from observatory.parse.funding.cells import CellRecord
from observatory.parse.funding.columns import Columns


def typed_rows(
    records: Iterable[CellRecord | Rejected], options: Mapping[str, Any]
) -> Iterator[tuple | Rejected | Note]:
    """``funding_operation`` tuples for the readable records, the others as ``Rejected`` (in file order), after the
    notes of the per-column decisions; keys repeated within the file suffixed ``#2``, ``#3``…"""
    items = list(records)
    columns = Columns([r for r in items if isinstance(r, CellRecord)], options)
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
