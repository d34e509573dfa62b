"""``calendar_event`` rows: one per occurrence in the window and one per VEVENT without a readable start (its
start NULL, the reason in ``start_missing_reason``), unique on (event_uid, occurrence_start_utc)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import icalendar

from observatory.extract.locations import event_places
from observatory.parse import Rejected
from observatory.parse.calendar.notes import Notes
from observatory.parse.calendar.recurrence import expand_or_written, occurrence_window
from observatory.parse.calendar.structure import clean
from observatory.parse.calendar.timezones import to_utc
from observatory.parse.calendar.vevent import INDEX, OLDEST, Event, dt_value, version_rank


def _row(
    occurrence: icalendar.Component, source: Event, zone: ZoneInfo, recurring: bool, options: Mapping[str, Any]
) -> tuple:
    """The row of one occurrence; ``source`` is the VEVENT it comes from (the series' or an override). A VEVENT
    without a start is its own occurrence: start and all_day NULL, the end its DTEND if any."""
    start = cast(date | datetime | None, dt_value(occurrence, "DTSTART"))
    end = cast(date | datetime | None, dt_value(occurrence, "DTEND") or start)
    modified = dt_value(occurrence, "LAST-MODIFIED")
    summary, description, location = (_text(occurrence, name) for name in ("SUMMARY", "DESCRIPTION", "LOCATION"))
    start_utc = to_utc(start, zone) if start is not None else None
    end_utc = to_utc(end, zone) if end is not None else None
    aware = isinstance(start, datetime) and start.tzinfo is not None
    return (
        source.uid,
        start_utc,
        end_utc if start_utc is None or end_utc is None else max(start_utc, end_utc),
        (source.tzid or "UTC") if aware else None,
        None if start is None else not isinstance(start, datetime),
        summary,
        description,
        location,
        _text(occurrence, "STATUS"),
        version_rank(occurrence, zone)[0],
        to_utc(modified, zone) if isinstance(modified, date) else None,
        recurring,
        json.dumps(event_places(location, summary, description, options), ensure_ascii=False),
        source.uid_synthesised,
        source.start_missing,
    )


def _text(component: icalendar.Component, name: str) -> str | None:
    value = component.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return clean(str(value)) if value else None


def _row_rank(row: tuple) -> tuple[int, datetime]:
    return row[9], row[10] or OLDEST


_Kept = dict[tuple[str, datetime | None], tuple[tuple, Event]]  # (UID, start) → the row and its VEVENT


def _keep(kept: _Kept, row: tuple, source: Event) -> Rejected | None:
    """Keeps the row unless one of the same key (UID, start) is kept; of two, the later version (SEQUENCE,
    LAST-MODIFIED) is kept and the other is ``Rejected``."""
    key = (row[0], row[1])
    if key not in kept:
        kept[key] = (row, source)
        return None
    other_row, other = kept[key]
    if _row_rank(row) >= _row_rank(other_row):
        kept[key] = (row, source)
        row, source, other = other_row, other, source
    if row[1] is None:
        reason = f"another VEVENT of the UID, {other.label}, has no start either (the row key)"
        return Rejected(f"{source.where} without a start", reason, source.raw)
    reason = f"another occurrence of the UID, from {other.label}, starts at the same time (the row key)"
    return Rejected(f"{source.where} at {row[1]:%Y-%m-%d %H:%M} UTC", reason, source.raw)


def occurrence_rows(
    events: list[Event], options: Mapping[str, Any], zone: ZoneInfo, notes: Notes
) -> list[tuple | Rejected]:
    """The rows of the VEVENTs read: each series expanded in the window, then each VEVENT without a start as one
    row (not windowed: it cannot be placed), and the ``Rejected`` occurrences that collide on the row key."""
    placed = [event for event in events if event.start is not None]
    kept: _Kept = {}
    out = _expanded(placed, options, zone, notes, kept) if placed else []
    for event in events:
        if event.start is None:
            rejected = _keep(kept, _row(event.component, event, zone, event.recurring, options), event)
            out += [rejected] if rejected else []
    return [row for row, _ in kept.values()] + out


def _expanded(
    events: list[Event],
    options: Mapping[str, Any],
    zone: ZoneInfo,
    notes: Notes,
    kept: _Kept,
) -> list[tuple | Rejected]:
    """Expands the series of ``events`` (all with a start) in the window into ``kept``; returns the rejected."""
    window = occurrence_window(events, options, zone, notes)
    by_index = {event.block.index: event for event in events}
    series: dict[str, list[Event]] = {}
    for event in events:
        series.setdefault(event.uid, []).append(event)
    out: list[tuple | Rejected] = []
    for uid, members in series.items():
        occurrences = expand_or_written(members, window, zone, notes)
        if isinstance(occurrences, str):
            reason = f"cannot expand the recurrence of UID {uid}: {occurrences}"
            out += [Rejected(member.where, reason, member.raw) for member in members]
            continue
        recurring = any(member.recurring for member in members)
        loaded = 0
        for occurrence in occurrences:
            source = by_index.get(int(str(occurrence.get(INDEX, 0)) or 0), members[0])
            try:
                row = _row(occurrence, source, zone, recurring, options)
            except Exception as exc:
                moment = getattr(occurrence.get("DTSTART"), "dt", "?")
                out.append(Rejected(source.where, f"occurrence at {moment}: {type(exc).__name__}: {exc}", source.raw))
                continue
            if not window[0] <= row[1] < window[1]:
                continue
            loaded += 1
            rejected = _keep(kept, row, source)
            out += [rejected] if rejected else []
        if not loaded and any(window[0] <= start < window[1] for m in members for start in m.written_starts):
            notes.add("no occurrence although written inside the window (all excluded by EXDATE?)", members[0].where)
    return out
