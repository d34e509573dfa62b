"""iCalendar (RFC 5545) feeds → ``calendar_event`` rows, one per occurrence in a window.

Options (all optional):

- ``default_timezone``: zone for floating date-times and all-day dates; defaults to the
  feed's ``X-WR-TIMEZONE``, else ``UTC``.
- ``window_start`` / ``window_end``: ISO dates (or YAML dates), both inclusive, read as
  whole days in ``default_timezone``. Occurrences *starting* inside the window are kept.
  Default: from the earliest to the latest DTSTART written in the feed (masters,
  overrides and single events alike), so the result depends on the payload only, never
  on today's date; open-ended RRULEs are expanded up to that last day.
- ``country_code``, ``default_city``, ``text_language``: how ``places`` is resolved from
  LOCATION, SUMMARY and DESCRIPTION (see :func:`observatory.extract.locations.event_places`).

Times become aware UTC datetimes. ``original_tzid`` is the DTSTART's TZID, ``'UTC'`` for
``Z`` times and NULL for floating times and all-day events. An all-day event starts at
00:00 of its date in ``default_timezone``; without DTEND/DURATION it lasts one day, a
timed event without either ends when it starts. Recurrences (RRULE, RDATE, EXDATE,
RECURRENCE-ID) are expanded by ``recurring_ical_events`` with RFC 5545 semantics (no
X-WR-TIMEZONE rewriting, so ``Z`` times keep their ``'UTC'`` origin). A VEVENT repeated
with the same UID and RECURRENCE-ID keeps only its highest SEQUENCE / latest
LAST-MODIFIED (later in the feed on a tie); rows are also unique on
(event_uid, occurrence_start_utc). ``sequence`` is the series' highest SEQUENCE (as
``recurring_ical_events`` reports it); ``is_recurring`` is true when the UID has an
RRULE or RDATE. ``places`` is a JSON array of the event's cities with their role (host first).
Any broken VEVENT rejects the whole payload.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events

from observatory.extract.locations import event_places
from observatory.parse import ParseError

RAW_TABLE = "calendar_event"

_OLDEST = datetime.min.replace(tzinfo=UTC)


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple]:
    """Yield one ``calendar_event`` row per occurrence; the payload is fully checked first."""
    calendar = _read_calendar(payload)
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    for event in events:
        _check_event(event)
    if not events:
        return
    zone = _default_zone(calendar, options)
    window = _window(events, options, zone)
    calendar.subcomponents = [c for c in calendar.subcomponents if c.name != "VEVENT"]
    calendar.subcomponents += _latest_versions(events, zone)
    recurring = {str(e["UID"]) for e in events if "RRULE" in e or "RDATE" in e}
    yield from _unique(_rows(calendar, window, zone, recurring, options))


def to_utc(value: date | datetime, zone: ZoneInfo) -> datetime:
    """An aware UTC datetime; naive times and dates (at 00:00) are read in ``zone``."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _read_calendar(payload: bytes) -> icalendar.Calendar:
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"iCalendar payload is not UTF-8: {exc}") from exc
    try:
        component = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        raise ParseError(f"not an iCalendar payload: {exc}") from exc
    if component.name != "VCALENDAR":
        raise ParseError(f"expected a VCALENDAR, found {component.name}")
    return component


def _check_event(event: icalendar.Component) -> None:
    """Reject a VEVENT without UID or DTSTART, with unparsable values or an unknown TZID."""
    uid = event.get("UID")
    if not uid:
        raise ParseError(f"VEVENT without UID (DTSTART {event.get('DTSTART')!r})")
    if event.errors:
        name, message = event.errors[0]
        raise ParseError(f"VEVENT UID={uid}: invalid {name}: {message}")
    start = event.get("DTSTART")
    if start is None:
        raise ParseError(f"VEVENT UID={uid}: no DTSTART")
    if "TZID" in start.params and start.dt.tzinfo is None:
        raise ParseError(f"VEVENT UID={uid}: DTSTART has unknown TZID {start.params['TZID']!r}")


def _default_zone(calendar: icalendar.Calendar, options: Mapping[str, Any]) -> ZoneInfo:
    name = str(options.get("default_timezone") or calendar.get("X-WR-TIMEZONE") or "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ParseError(f"unknown default time zone {name!r}") from exc


def _window(events: list[icalendar.Component], options: Mapping[str, Any], zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[first day 00:00, day after last day 00:00) in ``zone``."""
    local_days = [to_utc(_when(e, "DTSTART"), zone).astimezone(zone).date() for e in events]
    first = _as_date(options.get("window_start")) or min(local_days)
    last = _as_date(options.get("window_end")) or max(local_days)
    return (
        datetime.combine(first, time(), zone),
        datetime.combine(last + timedelta(days=1), time(), zone),
    )


def _as_date(value: date | str | None) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"window bound {value!r} is not an ISO date") from exc


def _rank(component: icalendar.Component, zone: ZoneInfo) -> tuple[int, datetime]:
    modified = component.get("LAST-MODIFIED")
    return int(component.get("SEQUENCE", 0)), to_utc(modified.dt, zone) if modified else _OLDEST


def _row_rank(row: tuple) -> tuple[int, datetime]:
    return row[9], row[10] or _OLDEST


def _latest_versions(events: list[icalendar.Component], zone: ZoneInfo) -> list[icalendar.Component]:
    """One VEVENT per (UID, RECURRENCE-ID): the highest SEQUENCE / latest LAST-MODIFIED."""
    kept: dict[tuple[str, datetime | None], icalendar.Component] = {}
    for event in events:
        recurrence_id = event.get("RECURRENCE-ID")
        key = (str(event["UID"]), to_utc(recurrence_id.dt, zone) if recurrence_id else None)
        if key not in kept or _rank(event, zone) >= _rank(kept[key], zone):
            kept[key] = event
    return list(kept.values())


def _rows(
    calendar: icalendar.Calendar,
    window: tuple[datetime, datetime],
    zone: ZoneInfo,
    recurring: set[str],
    options: Mapping[str, Any],
) -> Iterator[tuple]:
    try:
        occurrences = recurring_ical_events.CalendarQuery(calendar).between(*window)
    except (ValueError, TypeError) as exc:
        raise ParseError(f"cannot expand recurrences: {exc}") from exc
    for occurrence in occurrences:
        row = _row(occurrence, zone, recurring, options)
        if window[0] <= row[1] < window[1]:
            yield row


def _row(occurrence: icalendar.Component, zone: ZoneInfo, recurring: set[str], options: Mapping[str, Any]) -> tuple:
    start = _date_property(occurrence, "DTSTART")
    start_at = _when(occurrence, "DTSTART")
    uid = str(occurrence["UID"])
    modified = occurrence.get("LAST-MODIFIED")
    summary, description, location = (_text(occurrence, name) for name in ("SUMMARY", "DESCRIPTION", "LOCATION"))
    return (
        uid,
        to_utc(start_at, zone),
        to_utc(_when(occurrence, "DTEND"), zone),
        _original_tzid(start),
        not isinstance(start_at, datetime),
        summary,
        description,
        location,
        _text(occurrence, "STATUS"),
        int(occurrence.get("SEQUENCE", 0)),
        to_utc(modified.dt, zone) if modified else None,
        uid in recurring,
        json.dumps(event_places(location, summary, description, options), ensure_ascii=False),
    )


def _date_property(component: icalendar.Component, name: str) -> icalendar.prop.vDDDTypes:
    """A DTSTART/DTEND property (icalendar types ``component[name]`` as any kind of property value)."""
    return cast(icalendar.prop.vDDDTypes, component[name])


def _when(component: icalendar.Component, name: str) -> date | datetime:
    """The date or date-time of a DTSTART/DTEND property."""
    return cast(date | datetime, _date_property(component, name).dt)


def _original_tzid(start: icalendar.prop.vDDDTypes) -> str | None:
    if not isinstance(start.dt, datetime) or start.dt.tzinfo is None:
        return None
    return str(start.params.get("TZID", "UTC"))


def _text(component: icalendar.Component, name: str) -> str | None:
    value = component.get(name)
    return str(value) if value else None


def _unique(rows: Iterable[tuple]) -> Iterator[tuple]:
    """Rows unique on (event_uid, occurrence_start_utc), highest (sequence, last_modified) kept."""
    kept: dict[tuple[str, datetime], tuple] = {}
    for row in rows:
        key = (row[0], row[1])
        if key not in kept or _row_rank(row) >= _row_rank(kept[key]):
            kept[key] = row
    yield from kept.values()
