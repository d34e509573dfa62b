"""Reading one VEVENT: its used properties, checked and repaired as far as they can be, as an ``Event``, or why
it is ``Rejected``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any, cast
from zoneinfo import ZoneInfo

import icalendar
from icalendar.parser.parameter import Parameters

from observatory.parse import Note, Rejected
from observatory.parse.calendar.notes import Notes
from observatory.parse.calendar.structure import (
    Block,
    Feed,
    clean,
    property_name,
    property_parts,
    time_property_parts,
)
from observatory.parse.calendar.timezones import Zones, to_utc

USED_PROPERTIES = frozenset(
    {
        "UID",
        "DTSTART",
        "DTEND",
        "DURATION",
        "RRULE",
        "RDATE",
        "EXDATE",
        "RECURRENCE-ID",
        "SUMMARY",
        "DESCRIPTION",
        "LOCATION",
        "STATUS",
        "SEQUENCE",
        "LAST-MODIFIED",
    }
)
_TIME_PROPERTIES = frozenset({"DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE"})  # may carry a TZID
_ONCE = ("UID", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID", "SEQUENCE", "LAST-MODIFIED")
_ONCE_TEXT = ("SUMMARY", "DESCRIPTION", "LOCATION", "STATUS")
# unreadable: the VEVENT is rejected (an unreadable DTSTART is not: the VEVENT is one row without a start)
_REQUIRED_READABLE = frozenset({"EXDATE", "RECURRENCE-ID"})
_END_PROPERTIES = ("DTEND", "DURATION")  # unreadable: dropped, the VEVENT ends as RFC 5545 says without them
_DROPPABLE = frozenset({*_END_PROPERTIES, "RRULE"})  # unreadable RRULE: dropped, the written starts are loaded
_STATUSES = frozenset({"CONFIRMED", "TENTATIVE", "CANCELLED"})
INDEX = "X-OBSERVATORY-VEVENT"  # added to each VEVENT read: its place in the feed, kept by every occurrence
OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass
class Event:
    block: Block
    raw: str
    component: icalendar.Event
    uid: str
    where: str
    start: datetime | None  # UTC; None when the VEVENT has no readable DTSTART (``start_missing`` says why)
    recurrence_id: datetime | None  # UTC
    rank: tuple[int, datetime]
    written_starts: list[datetime]  # DTSTART and RDATEs, UTC
    recurring: bool
    tzid: str | None = None  # DTSTART's TZID as published
    uid_synthesised: bool = False  # the VEVENT had no UID: ``uid`` is a hash of its content
    start_missing: str | None = None  # why there is no start: no DTSTART, or an unreadable one

    @property
    def label(self) -> str:
        return f"VEVENT #{self.block.index} (line {self.block.line.number})"


def read_event(feed: Feed, block: Block, zones: Zones, notes: Notes) -> Event | Rejected:
    raw = feed.raw(block)
    uid = ""
    for line in block.lines:
        parts = property_parts(line.text) if property_name(line.text) == "UID" else None
        if parts is not None:
            uid = clean(str(icalendar.vText.from_ical(parts[1]))).strip()
            break
    where = f"VEVENT #{block.index} (line {block.line.number}{f', UID {uid}' if uid else ''})"
    if block.broken:
        return Rejected(where, block.broken, raw)
    if block.undecodable:
        return Rejected(where, "not UTF-8: the VEVENT has undecodable bytes", raw)
    synthesised = not uid
    if synthesised:
        content = "\n".join(line.text for line in block.lines if property_name(line.text) != "DTSTAMP")
        uid = f"sha256:{hashlib.sha256(content.encode('utf-8', 'surrogateescape')).hexdigest()}@observatory"
    where = f"VEVENT #{block.index} (line {block.line.number}, UID {uid})"
    dropped: _Dropped = {}
    props = _used_properties(block, where, notes, dropped)
    if isinstance(props, str):
        return Rejected(where, props, raw)
    if synthesised:
        props.pop("UID", None)
    for name in _ONCE + _ONCE_TEXT:
        given = props.get(name, [])
        if len(given) > 1:
            differing = len({(str(params), value) for params, value, _ in given}) > 1
            values = " with different values" if differing else ""
            notes.add(f"{name} given {len(given)} times{values}: the first is used", where)
            props[name] = given[:1]

    lines = ["BEGIN:VEVENT", f"UID:{uid}"] if synthesised else ["BEGIN:VEVENT"]
    published_tzid = None
    for name, given in props.items():
        for params, value, text in given:
            if name not in _TIME_PROPERTIES:
                lines.append(text)
                continue
            if "TZID" in params:
                tzid = params["TZID"]
                published = ", ".join(tzid) if isinstance(tzid, list) else str(tzid)
                params["TZID"] = zones.key(published, where)
                if name == "DTSTART":
                    published_tzid = published
            lines.append(f"{name};{params.to_ical().decode()}:{value}" if params else f"{name}:{value}")
    lines += [f"{INDEX}:{block.index}", "END:VEVENT"]
    try:
        component = cast(icalendar.Event, icalendar.Event.from_ical("\r\n".join(lines) + "\r\n"))
        start_missing = _start_missing(component, dropped)
        problem = _check(component, zones.default, where, notes, dropped, start_missing)
    except Exception as exc:
        problem = f"unreadable VEVENT: {type(exc).__name__}: {exc}"
    if problem:
        return Rejected(where, problem, raw)
    if synthesised:
        notes.single.append(Note(f"UID {uid}", f"{where}: no UID in the VEVENT, synthesised from its content"))
    event = _event(block, raw, component, uid, where, zones.default, start_missing)
    event.tzid = clean(published_tzid) if published_tzid else None
    event.uid_synthesised = synthesised
    event.recurring = event.recurring or "RRULE" in dropped  # as published: one with an unreadable rule recurs
    return event


_Dropped = dict[str, list[tuple[str, str]]]  # property name → [(its value or line as published, why unreadable)]


def _used_properties(
    block: Block, where: str, notes: Notes, dropped: _Dropped
) -> dict[str, list[tuple[Parameters, str, str]]] | str:
    """The VEVENT's properties the model uses: name → [(parameters, raw value, line)], or why it is rejected;
    unreadable DTSTART, DTEND, DURATION and RRULE lines go to ``dropped``."""
    props: dict[str, list[tuple[Parameters, str, str]]] = {}
    for line in block.lines:
        name = property_name(line.text)
        if name not in USED_PROPERTIES:
            continue
        text = line.text
        if name in _TIME_PROPERTIES:
            time_parts = time_property_parts(text)
            parts = time_parts[:2] if time_parts else None
            if time_parts and time_parts[2]:
                notes.add(f"{name} with misquoted or empty parameters read leniently", where)
        else:
            parts = property_parts(text)
        if parts is not None and name == "RRULE" and any(char.isspace() for char in parts[1]):
            notes.add("RRULE with spaces read without them", where)
            parts = parts[0], "".join(parts[1].split())
            text = f"RRULE;{parts[0].to_ical().decode()}:{parts[1]}" if parts[0] else f"RRULE:{parts[1]}"
        if parts is not None and not parts[1].strip() and name in ("RRULE", "RDATE", "EXDATE"):
            notes.add(f"empty {name} ignored", where)
            continue
        if parts is None or (not parts[1].strip() and name in _REQUIRED_READABLE | _DROPPABLE):
            if name in _REQUIRED_READABLE:
                return f"unreadable {name} line: {clean(text)[:120]!r}"
            if name == "DTSTART":
                dropped.setdefault(name, []).append((clean(text)[:120], "unreadable line"))
                continue
            if name in _DROPPABLE:
                shown, why = (clean(text), "not a content line") if parts is None else ("", "empty")
                dropped.setdefault(name, []).append((shown, why))
                continue
            notes.add(f"unreadable {name} line ignored", where)
            continue
        props.setdefault(name, []).append((*parts, text))
    return props


def _start_missing(component: icalendar.Event, dropped: _Dropped) -> str | None:
    """Why the VEVENT has no start (its DTSTART, if unreadable, is removed), None when its DTSTART is readable."""
    value = component.get("DTSTART")
    if isinstance(value, icalendar.vBroken):
        component.pop("DTSTART")
        return f"unreadable DTSTART: {value.parse_error}"
    if value is not None and not isinstance(getattr(value, "dt", None), date):
        component.pop("DTSTART")
        return f"DTSTART is not a date or date-time: {getattr(value, 'dt', value)!r}"
    if value is None and "DTSTART" in dropped:
        return f"unreadable DTSTART line: {dropped['DTSTART'][0][0]!r}"
    return "no DTSTART" if value is None else None


def _check(
    component: icalendar.Event, zone: ZoneInfo, where: str, notes: Notes, dropped: _Dropped, start_missing: str | None
) -> str | None:
    """Why the VEVENT cannot be loaded, or None; unreadable properties that do not matter are dropped, an
    unreadable DTEND, DURATION or RRULE with a note saying what is loaded instead. Without a start
    (``start_missing``) only an absolute DTEND is kept and nothing is expanded."""
    for name, message in component.errors:
        if name == "DTSTART":  # decided by _start_missing
            continue
        if name in _REQUIRED_READABLE:
            return f"unreadable {name}: {message}"
        if name == "RDATE" or name in _DROPPABLE:  # decided below, value by value
            continue
        if name and name.upper() in component:
            component.pop(name.upper())
        kind = "absent" if name in ("SEQUENCE", "LAST-MODIFIED") else "NULL"
        notes.add(f"unreadable {name or 'content line'} read as {kind}", where)
    value = getattr(component.get("RECURRENCE-ID"), "dt", date.min)
    if not isinstance(value, date):
        return f"RECURRENCE-ID is not a date or date-time: {value!r}"
    for value in _listed(component, "EXDATE"):
        if not isinstance(value, icalendar.vDDDLists) or not all(isinstance(m.dt, date) for m in value.dts):
            return f"EXDATE is not a list of dates or date-times: {value.to_ical()!r}"
    _normalise_status(component, where, notes)
    if start_missing is not None:
        _without_start(component, zone, where, notes, start_missing)
        return None
    start = cast(date, dt_value(component, "DTSTART"))
    start_utc = to_utc(start, zone)
    _keep_expandable_rules(component, dropped)
    for name in _END_PROPERTIES:
        why = _unreadable_end(component, name, start, zone)
        if why:
            dropped.setdefault(name, []).append((value_text(component[name]), why))
            component.pop(name)
    _keep_readable_rdates(component, where, notes)
    if "DTEND" in component and to_utc(cast(date, dt_value(component, "DTEND")), zone) < start_utc:
        notes.add("DTEND before DTSTART: read swapped", where)
    for name in _END_PROPERTIES:
        for shown, why in dropped.get(name, []):
            notes.add(_end_note(name, shown, why, component, start), where)
    for shown, why in dropped.get("RRULE", []):
        notes.add(rule_note(shown, why), where)
    return None


def _normalise_status(component: icalendar.Event, where: str, notes: Notes) -> None:
    status = component.get("STATUS")
    if status is not None:
        text = str(status).strip().upper()
        if text in _STATUSES:
            component["STATUS"] = text
        else:
            component.pop("STATUS")
            notes.add(f"STATUS {str(status)[:40]!r} is not CONFIRMED, TENTATIVE or CANCELLED: read as NULL", where)


def _without_start(component: icalendar.Event, zone: ZoneInfo, where: str, notes: Notes, start_missing: str) -> None:
    """A VEVENT without a readable start is one row whose start is NULL: a readable DTEND is kept (an absolute
    end), a DURATION says nothing without a start and is dropped; RRULE and RDATE are not expanded."""
    notes.add(f"{start_missing}: loaded as one row without a start (NULL, the reason in start_missing_reason)", where)
    why = _unreadable_end(component, "DTEND", None, zone)
    if why:
        notes.add(f"DTEND {value_text(component.pop('DTEND'))[:60]!r} could not be read ({why[:100]}): NULL", where)
    if "DURATION" in component:
        component.pop("DURATION")
        notes.add("DURATION without a start gives no end: ignored", where)
    ignored = [name for name in ("RRULE", "RDATE") if name in component]
    if ignored:
        notes.add(f"{' and '.join(ignored)} not expanded: no occurrence can be placed without a start", where)


def value_text(value: Any) -> str:
    """A property value as published (the raw text of an unreadable one)."""
    if isinstance(value, list):
        return ",".join(value_text(item) for item in value)
    if isinstance(value, icalendar.vBroken):
        return clean(str(value))
    try:
        return clean(value.to_ical().decode("utf-8", errors="replace"))
    except Exception:
        return clean(str(value))


def _keep_expandable_rules(component: icalendar.Event, dropped: _Dropped) -> None:
    """Drops the RRULEs that cannot be read or expanded (to ``dropped``); RSCALE=GREGORIAN and SKIP=OMIT (RFC
    7529's defaults) are removed from the others, as the expansion does not know them."""
    rules = _listed(component, "RRULE")
    kept = []
    for rule in rules:
        if isinstance(rule, icalendar.vBroken):
            dropped.setdefault("RRULE", []).append((value_text(rule), f"unreadable: {rule.parse_error}"))
            continue
        if not isinstance(rule, icalendar.vRecur):
            dropped.setdefault("RRULE", []).append((value_text(rule), "not a recurrence rule"))
            continue
        scale = _rule_part(rule, "RSCALE") or "GREGORIAN"
        if scale != "GREGORIAN":
            why = f"RSCALE={scale}: a non-Gregorian calendar (RFC 7529), which the expansion does not know"
            dropped.setdefault("RRULE", []).append((value_text(rule), why))
            continue
        rule.pop("RSCALE", None)
        if _rule_part(rule, "SKIP") == "OMIT":
            rule.pop("SKIP")
        kept.append(rule)
    if len(kept) < len(rules):
        component.pop("RRULE")
        for rule in kept:
            component.add("RRULE", rule, encode=False)


def _rule_part(rule: icalendar.vRecur, name: str) -> str:
    """The first value of an RRULE part, upper-cased ("" when absent)."""
    value = (rule.get(name) or [""])[0]
    return str(value.value if isinstance(value, Enum) else value).upper()


def _unreadable_end(component: icalendar.Event, name: str, start: date | None, zone: ZoneInfo) -> str | None:
    """Why the VEVENT's DTEND or DURATION (only read with a ``start``) cannot be read, None when it can (or is
    absent)."""
    if name not in component:
        return None
    value = component[name]
    if isinstance(value, list):
        return f"given {len(value)} times"
    if isinstance(value, icalendar.vBroken):
        return str(value.parse_error)
    moment = getattr(value, "dt", None)
    try:
        if name == "DTEND":
            if not isinstance(moment, date):
                return "not a date or date-time"
            to_utc(moment, zone)
        else:
            if not isinstance(moment, timedelta):
                return "not a duration"
            if start is not None:
                _ends = to_utc(start, zone) + moment, start + moment  # both must be representable
    except (OverflowError, ValueError):
        return "its end is outside the dates a time can have, years 1 to 9999"
    return None


def _end_note(name: str, shown: str, why: str, component: icalendar.Event, start: date) -> str:
    read = f"{name} {shown[:60]!r} could not be read ({why[:100]})"
    other = next((other for other in _END_PROPERTIES if other in component), None)
    if other:
        return f"{read}: ignored, the end is read from {other}"
    default = "one day after its DATE start" if not isinstance(start, datetime) else "its DATE-TIME start itself"
    return (
        f"{read}: the published end is unknown, so the event ends as RFC 5545 defines for a VEVENT without DTEND "
        f"or DURATION: {default}"
    )


def rule_note(shown: str, why: str) -> str:
    return (
        f"RRULE {shown[:80]!r} not expanded ({why[:120]}): the written DTSTART and RDATEs are its occurrences, the "
        "rule's others are not loaded"
    )


def dt_value(component: icalendar.Component, name: str) -> Any:
    """The value (``.dt``) of a date, date-time or duration property, None when absent."""
    return getattr(component.get(name), "dt", None)


def _listed(component: icalendar.Component, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _is_moment(value: object) -> bool:
    if isinstance(value, tuple):
        return len(value) == 2 and isinstance(value[0], date) and isinstance(value[1], date | timedelta)
    return isinstance(value, date)


def _keep_readable_rdates(component: icalendar.Event, where: str, notes: Notes) -> None:
    rdates = _listed(component, "RDATE")
    readable = [v for v in rdates if isinstance(v, icalendar.vDDDLists) and all(_is_moment(d.dt) for d in v.dts)]
    if len(readable) == len(rdates):
        return
    for value in rdates:
        if value not in readable:
            text = value.to_ical().decode(errors="replace") if hasattr(value, "to_ical") else str(value)
            notes.add(f"RDATE {text[:60]!r} is not a date, date-time or period: dropped", where)
    component.pop("RDATE")
    for value in readable:
        component.add("RDATE", value, encode=False)


def _event(
    block: Block, raw: str, component: icalendar.Event, uid: str, where: str, zone: ZoneInfo, start_missing: str | None
) -> Event:
    start = None if start_missing else to_utc(cast(date, dt_value(component, "DTSTART")), zone)
    recurrence_id = component.get("RECURRENCE-ID")
    written = []
    if start is not None:
        written.append(start)
        for value in _listed(component, "RDATE"):
            for moment in value.dts:
                written.append(to_utc(moment.dt[0] if isinstance(moment.dt, tuple) else moment.dt, zone))
    return Event(
        block=block,
        raw=raw,
        component=component,
        uid=uid,
        where=where,
        start=start,
        recurrence_id=to_utc(recurrence_id.dt, zone) if recurrence_id is not None else None,
        rank=version_rank(component, zone),
        written_starts=written,
        recurring="RRULE" in component or "RDATE" in component,
        start_missing=start_missing,
    )


def version_rank(component: icalendar.Component, zone: ZoneInfo) -> tuple[int, datetime]:
    modified = getattr(component.get("LAST-MODIFIED"), "dt", None)
    try:
        sequence = int(component.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        sequence = 0
    return sequence, to_utc(modified, zone) if isinstance(modified, date) else OLDEST
