"""``calendar_event`` rows: one per occurrence in the window, unique on (event_uid, occurrence_start_utc)."""

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
    """The row of one occurrence; ``source`` is the VEVENT it comes from (the series' or an override)."""
    start = cast(date | datetime, dt_value(occurrence, "DTSTART"))
    end = cast(date | datetime, dt_value(occurrence, "DTEND") or start)
    modified = dt_value(occurrence, "LAST-MODIFIED")
    summary, description, location = (_text(occurrence, name) for name in ("SUMMARY", "DESCRIPTION", "LOCATION"))
    start_utc, end_utc = to_utc(start, zone), to_utc(end, zone)
    aware = isinstance(start, datetime) and start.tzinfo is not None
    return (
        source.uid,
        start_utc,
        max(start_utc, end_utc),
        (source.tzid or "UTC") if aware else None,
        not isinstance(start, datetime),
        summary,
        description,
        location,
        _text(occurrence, "STATUS"),
        version_rank(occurrence, zone)[0],
        to_utc(modified, zone) if isinstance(modified, date) else None,
        recurring,
        json.dumps(event_places(location, summary, description, options), ensure_ascii=False),
        source.uid_synthesised,
    )


def _text(component: icalendar.Component, name: str) -> str | None:
    value = component.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return clean(str(value)) if value else None


def _row_rank(row: tuple) -> tuple[int, datetime]:
    return row[9], row[10] or OLDEST


def occurrence_rows(
    events: list[Event], options: Mapping[str, Any], zone: ZoneInfo, notes: Notes
) -> list[tuple | Rejected]:
    window = occurrence_window(events, options, zone, notes)
    by_index = {event.block.index: event for event in events}
    series: dict[str, list[Event]] = {}
    for event in events:
        series.setdefault(event.uid, []).append(event)
    out: list[tuple | Rejected] = []
    kept: dict[tuple[str, datetime], tuple[tuple, Event]] = {}
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
            key = (row[0], row[1])
            if key in kept:
                other_row, other = kept[key]
                if _row_rank(row) >= _row_rank(other_row):
                    kept[key] = (row, source)
                    row, source, other = other_row, other, source
                reason = f"another occurrence of the UID, from {other.label}, starts at the same time (the row key)"
                out.append(Rejected(f"{source.where} at {row[1]:%Y-%m-%d %H:%M} UTC", reason, source.raw))
            else:
                kept[key] = (row, source)
        if not loaded and any(window[0] <= start < window[1] for m in members for start in m.written_starts):
            notes.add(
                "no occurrence although written inside the window (UNTIL before DTSTART, all excluded?)",
                members[0].where,
            )
    return [row for row, _ in kept.values()] + out
