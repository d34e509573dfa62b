"""The window of occurrences loaded and the expansion of each series (RRULE, RDATE, EXDATE, RECURRENCE-ID) in it."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from observatory.parse import ParseError
from observatory.parse.calendar.notes import Notes
from observatory.parse.calendar.timezones import to_utc
from observatory.parse.calendar.vevent import Event, dt_value, rule_note, value_text

WINDOW_MONTHS_BACK = 12  # with logical_date: the window starts this many months before it
WINDOW_MONTHS_AHEAD = 24  # ... and ends this many months after it
SERIES_MONTHS_AHEAD = 24  # without window or logical_date: past the last written start of a recurring series
MAX_OCCURRENCES_PER_SERIES = 10_000  # a series with more occurrences in the window is cut, with a note
_MAX_RULE_STEPS = 50_000  # occurrences of one RRULE generated from its DTSTART at most (bounds the work)


def as_date(value: date | str | None, option: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ParseError(f"option {option}: window bound {value!r} is not an ISO date") from exc


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(f"cannot add {months} months to {day}")  # pragma: no cover


def occurrence_window(
    events: list[Event], options: Mapping[str, Any], zone: ZoneInfo, notes: Notes
) -> tuple[datetime, datetime]:
    """[first day 00:00, day after last day 00:00) in ``zone``."""
    first = as_date(options.get("window_start"), "window_start")
    last = as_date(options.get("window_end"), "window_end")
    logical = as_date(options.get("logical_date"), "logical_date")
    how = "window_start / window_end"
    if logical is not None:
        if first is None:
            first = _add_months(logical, -WINDOW_MONTHS_BACK)
        if last is None:
            last = _add_months(logical, WINDOW_MONTHS_AHEAD)
        how = f"logical date {logical}: {WINDOW_MONTHS_BACK} months back, {WINDOW_MONTHS_AHEAD} ahead"
    elif first is None or last is None:
        local = [moment.astimezone(zone).date() for event in events for moment in event.written_starts]
        if first is None:
            first = min(local)
        if last is None:
            last = max(local)
        how = "the starts written in the feed"
        recurring = {e.uid for e in events if "RRULE" in e.component or "RDATE" in e.component}  # still expanding
        series = [m.astimezone(zone).date() for e in events if e.uid in recurring for m in e.written_starts]
        if series and options.get("window_end") is None:
            last = max(last, _add_months(max(series), SERIES_MONTHS_AHEAD))
            how += f", recurring series expanded {SERIES_MONTHS_AHEAD} months past their last"
    notes.add(f"occurrences starting {first} to {last} ({zone.key}) are loaded: window from {how}", "file")
    return datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone)


def _expansion_end(series: recurring_ical_events.Series, start: datetime, end: datetime, zone: ZoneInfo) -> datetime:
    """``end``, or earlier when an RRULE of the series has more than ``MAX_OCCURRENCES_PER_SERIES`` occurrences
    in the window or takes more than ``_MAX_RULE_STEPS`` steps from its DTSTART to reach the window's end."""
    recurrence = series.recurrence
    rules = getattr(recurrence, "rrules", [])[1:]  # [0] is the set of RDATEs and DTSTART, as many as written
    tzinfo = getattr(recurrence, "tzinfo", None)

    def local(moment: datetime) -> datetime:
        return moment.astimezone(tzinfo) if tzinfo is not None else moment.astimezone(zone).replace(tzinfo=None)

    low, high, cut = local(start), local(end), end
    for rule in rules:
        inside = 0
        for step, moment in enumerate(itertools.islice(rule, _MAX_RULE_STEPS + 1)):
            if moment >= high:
                break
            inside += moment >= low
            if inside > MAX_OCCURRENCES_PER_SERIES or step == _MAX_RULE_STEPS:
                cut = min(cut, moment if moment.tzinfo else moment.replace(tzinfo=zone))
                break
    return cut


def _expand(
    members: list[Event], window: tuple[datetime, datetime], zone: ZoneInfo, notes: Notes
) -> list[icalendar.Component]:
    series = recurring_ical_events.Series([recurring_ical_events.EventAdapter(m.component) for m in members])
    end = _expansion_end(series, *window, zone)
    if end <= window[0]:
        notes.add(f"more than {_MAX_RULE_STEPS} occurrences before the window: not expanded", members[0].where)
        return []
    if end < window[1]:
        notes.add(
            f"more than {MAX_OCCURRENCES_PER_SERIES} occurrences: those from {end:%Y-%m-%d %H:%M} on are not loaded",
            members[0].where,
        )
    return [occurrence.as_component(False) for occurrence in series.between(window[0], end)]


def _expansion_problem(exc: Exception) -> str:
    """What an expansion error says; recurring_ical_events reports every rule dateutil refuses as "UNTIL parameter
    is missing", the ValueError it replaced says why."""
    context = exc.__context__
    if isinstance(context, ValueError) and str(context):
        return f"{type(context).__name__}: {context}"
    return f"{type(exc).__name__}: {exc}"


def _drop_rules_ending_before_start(members: list[Event], zone: ZoneInfo, notes: Notes) -> None:
    """Removes, with a note, each RRULE whose UNTIL precedes its DTSTART. RFC 5545 (3.8.5.3): "The DTSTART property
    value always counts as the first occurrence", and such a rule adds none; recurring_ical_events drops the DTSTART
    too (Confluence writes such a rule to delete a series, its issue 117), so without the rule the written DTSTART
    (and RDATEs) stay the series' occurrences."""
    for member in members:
        given = member.component.get("RRULE")
        rules = given if isinstance(given, list) else [] if given is None else [given]
        start = to_utc(dt_value(member.component, "DTSTART"), zone)
        ended = [
            rule
            for rule in rules
            if isinstance(rule, icalendar.vRecur) and rule.get("UNTIL") and to_utc(rule["UNTIL"][0], zone) < start
        ]
        if not ended:
            continue
        member.component.pop("RRULE")
        for rule in rules:
            if rule not in ended:
                member.component.add("RRULE", rule, encode=False)
        for rule in ended:
            notes.add(
                f"RRULE {value_text(rule)[:80]!r} ends (UNTIL) before its DTSTART, which is how Confluence deletes a "
                "series (recurring_ical_events then yields no occurrence); RFC 5545 counts DTSTART as the first "
                "occurrence, so the written DTSTART is loaded as the rule's one occurrence",
                member.where,
            )


def expand_or_written(
    members: list[Event], window: tuple[datetime, datetime], zone: ZoneInfo, notes: Notes
) -> list[icalendar.Component] | str:
    """The series' occurrences; when its RRULEs cannot be expanded, those of its written starts (DTSTART, RDATE,
    less EXDATE) with a note, never the rule's others; why it cannot be expanded at all otherwise. A rule ending
    before its DTSTART is removed first (see ``_drop_rules_ending_before_start``)."""
    _drop_rules_ending_before_start(members, zone, notes)
    try:
        return _expand(members, window, zone, notes)
    except Exception as exc:
        problem = _expansion_problem(exc)
    ruled = [member for member in members if "RRULE" in member.component]
    if not ruled:
        return problem
    rules = {member.where: value_text(member.component.pop("RRULE")) for member in ruled}
    try:
        occurrences = _expand(members, window, zone, notes)
    except Exception:
        return problem
    for where, rule in rules.items():
        notes.add(rule_note(rule, f"cannot be expanded: {problem}"), where)
    return occurrences
