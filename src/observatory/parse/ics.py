"""iCalendar (RFC 5545) feeds → ``calendar_event`` rows, one per occurrence in a window.

Options (all optional):

- ``default_timezone``: zone for floating date-times, all-day dates and TZIDs that cannot be
  resolved; defaults to the feed's ``X-WR-TIMEZONE``, else ``UTC``.
- ``window_start`` / ``window_end``: ISO dates (or YAML dates), both inclusive, read as
  whole days in ``default_timezone``. Occurrences *starting* inside the window are kept.
- ``logical_date``: ISO date (or YAML date) of the run, passed by the pipeline. Without
  ``window_start`` / ``window_end`` the window runs from ``WINDOW_MONTHS_BACK`` (12) months
  before it to ``WINDOW_MONTHS_AHEAD`` (24) months after it.
- Neither given (a unit test, ``observatory parse``): the window spans the starts written in
  the feed (DTSTART of every VEVENT and every RDATE), extended to ``SERIES_MONTHS_AHEAD`` (24)
  months after the last written start of a series with an RRULE or RDATE, so the result
  depends on the payload only, never on today's date, and a series never collapses to its
  written start.
  A ``Note`` states the window used.
- ``country_code``, ``default_city``, ``text_language``: how ``places`` is resolved from
  LOCATION, SUMMARY and DESCRIPTION (see :func:`observatory.extract.locations.event_places`).

Times become aware UTC datetimes. ``original_tzid`` is the DTSTART's TZID as published,
``'UTC'`` for ``Z`` times and NULL for floating times and all-day events. An all-day event
starts at 00:00 of its date in ``default_timezone``; without DTEND/DURATION it lasts one day,
a timed event without either ends when it starts (an end before the start is read swapped, as
``recurring_ical_events`` does, with a note). Recurrences (RRULE, RDATE, EXDATE, RECURRENCE-ID)
are expanded by ``recurring_ical_events`` with RFC 5545 semantics (no X-WR-TIMEZONE rewriting,
so ``Z`` times keep their ``'UTC'`` origin), at most ``MAX_OCCURRENCES_PER_SERIES`` per series
(more is cut with a note). ``sequence`` is the series' highest SEQUENCE; ``is_recurring`` is
true when the UID has an RRULE or RDATE. ``places`` is a JSON array of the event's cities with
their role (host first). STATUS is upper-cased; another value than CONFIRMED, TENTATIVE or
CANCELLED is NULL with a note.

Record-level tolerance (one bad VEVENT never sinks the feed). The payload is split into its
VCALENDAR(s) and components here; only VEVENTs and VTIMEZONEs are read, every other component
(VTODO, VJOURNAL, VFREEBUSY, VALARM, ...) is skipped unread. What publishers serve is read as
far as it goes, each time with a file ``Note``:

- A payload that ends before END:VCALENDAR (no END line, or a mistyped one like
  ``END:VCALENDARD``): its complete VEVENTs are read, an unended trailing one is ``Rejected``
  with its text. A truncated download is caught before parsing (the HTTP layer checks
  Content-Length), so this is the file as published.
- VEVENTs without a VCALENDAR around them, or inside an unknown top-level component
  (``BEGIN:MYCOMP``, whose properties are read as the calendar's): read as if in a VCALENDAR.

``ParseError`` is raised only for a payload that is not UTF-8 before its first VCALENDAR, or
that is no calendar (no VCALENDAR, another component at the top, an end before END:VCALENDAR)
and holds no complete VEVENT. Within a VEVENT only the properties the model uses are read
(``USED_PROPERTIES``); others (CREATED, DTSTAMP, ATTACH, X-...) are never validated. A VEVENT
is yielded as ``Rejected`` (its text, the reason) when it has undecodable bytes, no END, no
DTSTART or an unreadable DTSTART (no occurrence can be placed without inventing its time), an
unreadable EXDATE or RECURRENCE-ID, or when its series cannot be expanded even without its
RRULEs. Decided per property, each with a ``Note``:

- RRULE unreadable (``FREQ=FORTNIGHTLY``), in a non-Gregorian RSCALE (RFC 7529: ``CHINESE``,
  ``HEBREW``, ...) or refused by the expansion (``UNTL=...``, ``SKIP=FORWARD``): the rule is
  not expanded; the written DTSTART and RDATEs (less EXDATEs) and the overrides are the
  series' occurrences, the rule's others are not invented. ``is_recurring`` stays true, as
  published. RSCALE=GREGORIAN and SKIP=OMIT, RFC 7529's defaults, are read as absent.
- DTEND or DURATION unreadable (``DURATION:P999999999999999999W``, an end past the year 9999):
  dropped; with the other one present the end is read from it, else the event ends as RFC
  5545 defines for a VEVENT without DTEND or DURATION (a DATE start: one day later, a
  DATE-TIME start: at its start), and the note says the published end could not be read.
- RDATE: a property with an unreadable value (``20131210Z``, a TIME) is dropped; the series
  loses that extra date only (rejecting the series would lose all of it), and the note names
  the value. EXDATE is stricter: ignoring one would publish an occurrence the feed cancelled.
- SEQUENCE / LAST-MODIFIED unreadable: read as absent; SUMMARY, DESCRIPTION, LOCATION
  unreadable: NULL.
- A property allowed once but given several times (DTSTART twice): the first is used.
- An empty RRULE, RDATE or EXDATE adds or removes nothing and is ignored; spaces inside an
  RRULE value (``BYDAY=MO, TU``) are removed. Several VCALENDARs in one payload are read
  together.
- No UID: ``sha256:<hex>@observatory``, the SHA-256 of the VEVENT's unfolded property lines
  without DTSTAMP (stable across exports of the same event); a Note with ``where`` =
  ``"UID <that uid>"`` flags each one.

TZIDs are resolved per payload, in this order: an IANA name (also case-insensitively, with
vendor prefixes like ``/mozilla.org/20070129_1/`` or ``posix/`` removed); else the feed's
VTIMEZONE of that TZID (its own rules, under a key unique to its text: icalendar caches
VTIMEZONEs by TZID for the whole process); else a Windows zone name (``W. Europe Standard
Time``, CLDR windowsZones as shipped by ``icalendar``), a Windows display name (``(UTC-05:00)
Eastern Time (US & Canada)``: ``WINDOWS_DISPLAY_NAMES`` gives its Windows zone, else a city
it names whose standard offset matches) or a bare offset (``UTC+11``); else
``default_timezone``. Quotes around a TZID are ignored and
an unquoted TZID containing ``:`` is read whole. Every TZID not read as an IANA name of the
same spelling gets a note.

Versions and duplicates, per (UID, RECURRENCE-ID): the VEVENT with the highest (SEQUENCE,
LAST-MODIFIED) is kept (the later in the feed on a tie). A lower one is an older version of
the same event, superseded by an update: not loaded, with a note. One with the same SEQUENCE,
LAST-MODIFIED and start is a duplicate and one with the same SEQUENCE and LAST-MODIFIED but
another start a conflicting version: both are ``Rejected`` naming the VEVENT kept. Rows are
unique on (event_uid, occurrence_start_utc); an occurrence that collides with a kept one (an
override moved onto another occurrence) is ``Rejected`` too.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import icalendar
import recurring_ical_events
from icalendar.parser.content_line import Contentline
from icalendar.parser.parameter import Parameters
from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from observatory.extract.locations import event_places
from observatory.parse import Note, ParseError, Rejected

RAW_TABLE = "calendar_event"

WINDOW_MONTHS_BACK = 12  # with logical_date: the window starts this many months before it
WINDOW_MONTHS_AHEAD = 24  # ... and ends this many months after it
SERIES_MONTHS_AHEAD = 24  # without window or logical_date: past the last written start of a recurring series
MAX_OCCURRENCES_PER_SERIES = 10_000  # a series with more occurrences in the window is cut, with a note
_MAX_RULE_STEPS = 50_000  # occurrences of one RRULE generated from its DTSTART at most (bounds the work)

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
_REQUIRED_READABLE = frozenset({"DTSTART", "EXDATE", "RECURRENCE-ID"})  # unreadable: the VEVENT is rejected
_END_PROPERTIES = ("DTEND", "DURATION")  # unreadable: dropped, the VEVENT ends as RFC 5545 says without them
_DROPPABLE = frozenset({*_END_PROPERTIES, "RRULE"})  # unreadable RRULE: dropped, the written starts are loaded
_TOP_LEVEL = frozenset({"VCALENDAR", "VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VTIMEZONE", "VAVAILABILITY"})
_STATUSES = frozenset({"CONFIRMED", "TENTATIVE", "CANCELLED"})
_INDEX = "X-OBSERVATORY-VEVENT"  # added to each VEVENT read: its place in the feed, kept by every occurrence
_OLDEST = datetime.min.replace(tzinfo=UTC)

# Windows display names ("(UTC-05:00) Eastern Time (US & Canada)") that name no city of an IANA zone, → Windows
# zone name (then CLDR windowsZones, as icalendar ships it). Labels naming a city ("(UTC+01:00) Amsterdam, Berlin,
# Bern, Rome, Stockholm, Vienna") are read from the city. Keys are folded (see _fold).
WINDOWS_DISPLAY_NAMES: dict[str, str] = {
    "international date line west": "Dateline Standard Time",
    "coordinated universal time": "UTC",
    "coordinated universal time-11": "UTC-11",
    "coordinated universal time-09": "UTC-09",
    "coordinated universal time-08": "UTC-08",
    "coordinated universal time-02": "UTC-02",
    "coordinated universal time+12": "UTC+12",
    "coordinated universal time+13": "UTC+13",
    "aleutian islands": "Aleutian Standard Time",
    "hawaii": "Hawaiian Standard Time",
    "alaska": "Alaskan Standard Time",
    "baja california": "Pacific Standard Time (Mexico)",
    "pacific time (us & canada)": "Pacific Standard Time",
    "pacific time (us & canada); tijuana": "Pacific Standard Time",
    "arizona": "US Mountain Standard Time",
    "mountain time (us & canada)": "Mountain Standard Time",
    "chihuahua, la paz, mazatlan": "Mountain Standard Time (Mexico)",
    "yukon": "Yukon Standard Time",
    "central america": "Central America Standard Time",
    "central time (us & canada)": "Central Standard Time",
    "guadalajara, mexico city, monterrey": "Central Standard Time (Mexico)",
    "saskatchewan": "Canada Central Standard Time",
    "chetumal": "Eastern Standard Time (Mexico)",
    "eastern time (us & canada)": "Eastern Standard Time",
    "haiti": "Haiti Standard Time",
    "indiana (east)": "US Eastern Standard Time",
    "turks and caicos": "Turks And Caicos Standard Time",
    "atlantic time (canada)": "Atlantic Standard Time",
    "georgetown, la paz, manaus, san juan": "SA Western Standard Time",
    "newfoundland": "Newfoundland Standard Time",
    "brasilia": "E. South America Standard Time",
    "city of buenos aires": "Argentina Standard Time",
    "greenland": "Greenland Standard Time",
    "saint pierre and miquelon": "Saint Pierre Standard Time",
    "salvador": "Bahia Standard Time",
    "mid-atlantic": "Mid-Atlantic Standard Time",
    "mid-atlantic - old": "Mid-Atlantic Standard Time",
    "cabo verde is.": "Cape Verde Standard Time",
    "cape verde is.": "Cape Verde Standard Time",
    "greenwich mean time : dublin, edinburgh, lisbon, london": "GMT Standard Time",
    "west central africa": "W. Central Africa Standard Time",
    "port louis": "Mauritius Standard Time",
    "ekaterinburg": "Ekaterinburg Standard Time",
    "astana": "Central Asia Standard Time",
    "sri jayawardenepura": "Sri Lanka Standard Time",
    "solomon is., new caledonia": "Central Pacific Standard Time",
    "chokurdakh": "Russia Time Zone 10",
    "nuku'alofa": "Tonga Standard Time",
    "samoa": "Samoa Standard Time",
    "lord howe island": "Lord Howe Standard Time",
    "norfolk island": "Norfolk Standard Time",
    "bougainville island": "Bougainville Standard Time",
}

_LABEL = re.compile(
    r"^\(\s*(?:UTC|GMT)\s*(?:(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?)?\s*\)\s*(?P<name>.+)$",
    re.IGNORECASE,
)
_OFFSET = re.compile(r"^(?:UTC|GMT)\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?::?00)?$", re.IGNORECASE)
_PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)?")
_PROPERTY_NAME = re.compile(r"[A-Za-z0-9-]+")
_SURROGATE = re.compile(r"[\udc80-\udcff]")


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """Yield one ``calendar_event`` row per occurrence in the window, a ``Rejected`` per unreadable VEVENT and
    the ``Note``s; the payload is read whole before anything is yielded."""
    try:
        results = _parse(payload, options)
    except ParseError:
        raise
    except Exception as exc:  # the contract: a parser raises ParseError and nothing else
        raise ParseError(f"iCalendar payload could not be read: {type(exc).__name__}: {exc}") from exc
    yield from results


def to_utc(value: date | datetime, zone: ZoneInfo) -> datetime:
    """An aware UTC datetime; naive times and dates (at 00:00) are read in ``zone``."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


# --- reading the payload's structure -------------------------------------------------------------------------


@dataclass
class _Line:
    text: str  # unfolded
    number: int  # its first physical line, from 1
    begin: int  # offsets in the decoded payload
    end: int


@dataclass
class _Block:
    name: str
    line: _Line  # its BEGIN line
    lines: list[_Line] = field(default_factory=list)  # its own property lines (not those of nested components)
    end: int = 0  # offset after its END line
    broken: str | None = None  # why it cannot be read at all
    undecodable: bool = False
    index: int = 0  # VEVENT #n in the feed
    complete: bool = False  # closed by its own END line
    wrapper: str = "VCALENDAR"  # of a VEVENT: the top-level component it is in ("" for none)


@dataclass
class _Feed:
    text: str
    calendar_lines: list[_Line] = field(default_factory=list)
    events: list[_Block] = field(default_factory=list)
    timezones: list[_Block] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # component name → count, not read
    calendars: int = 0
    stray_lines: int = 0  # outside any VCALENDAR, or END without BEGIN
    unended: str | None = None  # the file note when the payload ends before END:VCALENDAR

    def raw(self, block: _Block) -> str:
        """The block's text as it is in the payload (undecodable bytes as U+FFFD)."""
        return _clean(self.text[block.line.begin : block.end or len(self.text)])


def _logical_lines(text: str) -> Iterator[_Line]:
    """Unfolded content lines (a line starting with a space or tab continues the previous one)."""
    current: _Line | None = None
    for number, match in enumerate(_PHYSICAL_LINE.finditer(text), start=1):
        if match.start() == match.end():
            break
        physical = match.group().rstrip("\r\n")
        if physical[:1] in (" ", "\t") and current is not None:
            current.text += physical[1:]
            current.end = match.end()
            continue
        if current is not None:
            yield current
        current = _Line(physical, number, match.start(), match.end()) if physical.strip() else None
    if current is not None:
        yield current


def _scan(payload: bytes) -> _Feed:
    """The payload's components. A VEVENT is read inside a VCALENDAR, inside an unknown top-level component
    (``BEGIN:MYCOMP``, read as its wrapper) or on its own (no wrapper); a payload that ends before END:VCALENDAR
    keeps its complete VEVENTs. ``ParseError`` when no complete VEVENT saves a payload that is no calendar."""
    if payload.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParseError("iCalendar payload is not UTF-8: it starts with a UTF-16 byte-order mark")
    feed = _Feed(payload.decode("utf-8-sig", errors="surrogateescape"))
    stack: list[_Block] = []
    not_a_calendar: str | None = None  # the first sign that the payload is no calendar
    unmatched: list[_Line] = []  # END lines that end no open component
    wrapping: set[str] = set()  # unknown top-level components that hold a VEVENT

    def is_wrapper(block: _Block) -> bool:  # at the top: a VCALENDAR, or an unknown component read as one
        return block.name == "VCALENDAR" or block.name not in _TOP_LEVEL

    def close(block: _Block, end: int, broken: str | None = None) -> None:
        block.end, block.broken = end, block.broken or broken
        parent = stack[-1] if stack else None
        if parent is None:
            if block.name == "VCALENDAR":
                feed.calendars += 1
                feed.calendar_lines += block.lines
            elif block.name == "VEVENT":
                block.index, block.wrapper = len(feed.events) + 1, ""
                feed.events.append(block)
            elif block.name in wrapping:
                feed.calendar_lines += block.lines
            else:
                feed.skipped[f"{block.name} outside VCALENDAR"] = (
                    feed.skipped.get(f"{block.name} outside VCALENDAR", 0) + 1
                )
        elif len(stack) == 1 and is_wrapper(parent):
            if block.name == "VEVENT":
                block.index, block.wrapper = len(feed.events) + 1, parent.name
                feed.events.append(block)
                wrapping.add(parent.name)
            elif block.name == "VTIMEZONE":
                feed.timezones.append(block)
            else:
                feed.skipped[block.name] = feed.skipped.get(block.name, 0) + 1
        elif block.undecodable:
            parent.undecodable = True

    for line in _logical_lines(feed.text):
        keyword, colon, name = "", "", ""
        if line.text.lstrip()[:1] in ("B", "b", "E", "e"):
            keyword, colon, name = line.text.partition(":")
            keyword, name = keyword.strip().upper(), name.strip().upper()
        undecodable = bool(_SURROGATE.search(line.text))
        if undecodable and not feed.calendars and not stack:
            raise ParseError(f"iCalendar payload is not UTF-8: undecodable bytes on line {line.number}")
        if colon and keyword == "BEGIN" and name:
            if not stack and name != "VCALENDAR" and not feed.calendars and not_a_calendar is None:
                not_a_calendar = f"expected a VCALENDAR, found {name} (line {line.number})"
            if name in _TOP_LEVEL:  # opens at the top or in a wrapper only: whatever is still open was not ended
                keep = 1 if name != "VCALENDAR" and stack and is_wrapper(stack[0]) else 0
                while len(stack) > keep:
                    open_block = stack.pop()
                    close(open_block, line.begin, f"no END:{open_block.name} before BEGIN:{name} on line {line.number}")
            stack.append(_Block(name, line, undecodable=undecodable))
        elif colon and keyword == "END" and name:
            if name not in {block.name for block in stack}:
                feed.stray_lines += 1
                unmatched.append(line)
                continue
            while stack[-1].name != name:
                open_block = stack.pop()
                close(open_block, line.begin, f"no END:{open_block.name} before END:{name} on line {line.number}")
            close_block = stack.pop()
            close_block.complete = True
            close(close_block, line.end)
        elif not stack:
            feed.stray_lines += 1
        else:
            stack[-1].lines.append(line)
            if undecodable:
                for block in stack[1:]:
                    block.undecodable = True
                if len(stack) == 1:
                    feed.stray_lines += 1
                    stack[-1].lines.pop()
    ended_inside = None
    if stack:
        innermost, outermost = stack[-1], stack[0]
        ended_inside = (
            f"iCalendar payload ends inside {innermost.name} (begun on line {innermost.line.number}) "
            f"before END:{outermost.name}: truncated?"
        )
        mistyped = unmatched[-1] if unmatched else None
        while stack:
            open_block = stack.pop()
            close(open_block, len(feed.text), f"no END:{open_block.name}: the payload ends inside it")
        last = feed.events[-1] if feed.events else None
        feed.unended = (
            f"ends before END:{outermost.name}: the {outermost.name} begun on line {outermost.line.number} has no END"
            + (f" (line {mistyped.number} {_clean(mistyped.text)[:40]!r} ends no component)" if mistyped else "")
            + f"; its {sum(block.complete for block in feed.events)} complete VEVENT(s) are read"
            + (
                f", the VEVENT begun on line {last.line.number}, not ended, is rejected"
                if last is not None and not last.complete and last.end == len(feed.text)
                else ""
            )
        )
    if not any(block.complete for block in feed.events):
        if not_a_calendar and not feed.calendars:
            raise ParseError(not_a_calendar)
        if ended_inside:
            raise ParseError(ended_inside)
        if not feed.calendars:
            raise ParseError("not an iCalendar payload: no BEGIN:VCALENDAR ... END:VCALENDAR")
    return feed


def _property_name(text: str) -> str:
    match = _PROPERTY_NAME.match(text)
    return match.group().upper() if match else ""


def _property_parts(text: str) -> tuple[Parameters, str] | None:
    """Parameters and raw value of a content line, or None when it is not one."""
    name = _property_name(text)
    if name and text[len(name) : len(name) + 1] == ":":  # no parameters: the common case, read fast
        return Parameters(), text[len(name) + 1 :]
    try:
        _, params, value = Contentline(text).raw_parts()
    except Exception:
        return None
    return params, value


def _time_property_parts(text: str) -> tuple[Parameters, str, bool] | None:
    """Parameters and value of a date/time property, and whether it had to be read leniently: its value never
    holds ``:``, so the value starts after the last colon (an unquoted TZID like ``(UTC+01:00) Amsterdam`` is
    read whole); empty parameters are skipped and quotes dropped when they do not pair."""
    head, colon, value = text.rpartition(":")
    if not colon:
        return None
    lenient = head.count('"') % 2 == 1
    if lenient:
        head = head.replace('"', "")
    items, current, quoted = [], "", False
    for char in head:
        if char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            items.append(current)
            current = ""
            continue
        current += char
    items.append(current)
    params = Parameters()
    for item in items[1:]:
        key, equals, param = item.partition("=")
        if key.strip() and equals:
            param = param.strip()
            lenient = lenient or (":" in param and not param.startswith('"'))
            params[key.strip().upper()] = param.strip('"')
        else:
            lenient = True
    return params, value.strip(), lenient


# --- time zones ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _iana_names() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


@lru_cache(maxsize=1)
def _iana_cities() -> dict[str, tuple[str, ...]]:
    cities: dict[str, list[str]] = {}
    for name in sorted(available_timezones()):
        if "/" in name:
            cities.setdefault(_fold(name.rsplit("/", 1)[1].replace("_", " ")), []).append(name)
    return {city: tuple(names) for city, names in cities.items()}


@lru_cache(maxsize=1)
def _windows_names() -> dict[str, str]:
    return {name.casefold(): olson for name, olson in WINDOWS_TO_OLSON.items()}


def _fold(text: str) -> str:
    """Case-, accent- and space-insensitive form of a name."""
    text = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).casefold().split())


def _clean_tzid(tzid: str) -> str:
    return tzid.strip().strip("\"'\\").strip()


def _iana_zone(tzid: str) -> str | None:
    """The IANA zone a TZID names, also in another case or behind a vendor prefix."""
    names = _iana_names()
    parts = [part for part in tzid.split("/") if part]
    for first in range(len(parts)):
        zone = names.get("/".join(parts[first:]).casefold())
        if zone:
            return zone
    return None


def _standard_offsets(zone: str) -> set[timedelta]:
    offsets = set()
    for month in (1, 7):
        moment = datetime(2024, month, 15, 12, tzinfo=UTC).astimezone(ZoneInfo(zone))
        offset, dst = moment.utcoffset(), moment.dst()
        if offset is not None:
            offsets |= {offset, offset - (dst or timedelta())}
    return offsets


def _windows_zone(tzid: str) -> tuple[str, str] | None:
    """(IANA zone, how it was found) for a Windows zone name, a Windows display name or a bare UTC offset."""
    zone = _windows_names().get(tzid.casefold())
    if zone:
        return zone, "a Windows zone name (CLDR windowsZones)"
    label = _LABEL.match(tzid)
    if label:
        windows = WINDOWS_DISPLAY_NAMES.get(_fold(label["name"]))
        if windows and windows in WINDOWS_TO_OLSON:
            return WINDOWS_TO_OLSON[windows], f"the Windows display name of {windows!r} (CLDR windowsZones)"
        offset = None
        if label["hours"]:
            sign = -1 if label["sign"] == "-" else 1
            offset = sign * timedelta(hours=int(label["hours"]), minutes=int(label["minutes"] or 0))
        for part in re.split(r"[,;/]| - ", label["name"]):
            city = _fold(re.sub(r"\(.*?\)|\b(?:islands?|is\.)", "", part, flags=re.IGNORECASE))
            for zone in _iana_cities().get(city, ()):
                if offset is None or offset in _standard_offsets(zone):
                    return zone, "a city its Windows display name names"
    bare = _OFFSET.match(tzid)
    if bare and int(bare["hours"]) <= 14:
        hours = int(bare["hours"])
        if hours == 0:
            return "UTC", "a UTC offset"
        return f"Etc/GMT{'+' if bare['sign'] == '-' else '-'}{hours}", "a UTC offset"
    return None


class _Zones:
    """TZID as published → a key icalendar resolves to the same zone for every payload: an IANA name, or a key
    unique to a VTIMEZONE's text (icalendar caches VTIMEZONEs by TZID for the whole process)."""

    def __init__(self, feed: _Feed, default: ZoneInfo, notes: _Notes) -> None:
        self.default = default
        self.notes = notes
        self.keys: dict[str, tuple[str, str | None]] = {}  # published → (key, note for each VEVENT using it)
        self.vtimezones: dict[str, str] = {}  # folded TZID → key of its VTIMEZONE
        for block in feed.timezones:
            self._read_vtimezone(feed, block)

    def _read_vtimezone(self, feed: _Feed, block: _Block) -> None:
        tzids = [_property_parts(line.text) for line in block.lines if _property_name(line.text) == "TZID"]
        tzid = _clean_tzid(tzids[0][1]) if tzids and tzids[0] is not None else ""
        if not tzid:
            self.notes.add("VTIMEZONE without a readable TZID ignored", f"line {block.line.number}")
            return
        if _fold(tzid) in self.vtimezones or _iana_zone(tzid):
            return
        lines = [line.text for line in _logical_lines(feed.text[block.line.begin : block.end])]
        body = [line for line in lines[1:] if _property_name(line) != "TZID"]
        key = (
            "observatory-vtimezone-"
            + hashlib.sha256("\n".join(body).encode("utf-8", "surrogateescape")).hexdigest()[:24]
        )
        try:
            if block.broken or block.undecodable:
                raise ValueError(block.broken or "undecodable bytes")
            icalendar.Timezone.from_ical("\r\n".join(["BEGIN:VTIMEZONE", f"TZID:{key}", *body]) + "\r\n")
            zone = tzp.timezone(key)
            if zone is None:
                raise ValueError("no usable observance")
            datetime(2020, 1, 1, tzinfo=zone).utcoffset()
        except Exception as exc:
            problem = f"{type(exc).__name__}: {str(exc)[:80]}"
            note = f"VTIMEZONE {tzid[:60]!r} unreadable ({problem}): its TZID is read as without one"
            self.notes.add(note, f"line {block.line.number}")
            return
        self.vtimezones[_fold(tzid)] = key

    def key(self, published: str, where: str) -> str:
        if published not in self.keys:
            self.keys[published] = self._resolve(published)
        key, note = self.keys[published]
        if note:
            self.notes.add(note, where)
        return key

    def _resolve(self, published: str) -> tuple[str, str | None]:
        tzid = _clean_tzid(published)
        zone = _iana_zone(tzid)
        if zone:
            return zone, None if zone == published else f"TZID {published!r} read as the IANA zone {zone}"
        if _fold(tzid) in self.vtimezones:
            return self.vtimezones[_fold(tzid)], f"TZID {published!r} read with the feed's VTIMEZONE"
        found = _windows_zone(tzid)
        if found:
            return found[0], f"TZID {published!r} (no VTIMEZONE) read as {found[0]}, from {found[1]}"
        note = f"TZID {published!r} is no time zone we know and has no VTIMEZONE: read in {self.default.key}"
        return self.default.key, note


# --- notes -----------------------------------------------------------------------------------------------------


class _Notes:
    """Notes, the same one for many records said once with a count and examples."""

    def __init__(self) -> None:
        self.single: list[Note] = []
        self.grouped: dict[str, list[str]] = {}

    def add(self, note: str, where: str) -> None:
        wheres = self.grouped.setdefault(note, [])
        if where not in wheres:
            wheres.append(where)

    def __iter__(self) -> Iterator[Note]:
        yield from self.single
        for note, wheres in self.grouped.items():
            if len(wheres) == 1:
                yield Note(wheres[0], note)
            else:
                more = ", ..." if len(wheres) > 3 else ""
                yield Note("file", f"{note}: {len(wheres)} VEVENTs ({'; '.join(wheres[:3])}{more})")


# --- reading one VEVENT ----------------------------------------------------------------------------------------


@dataclass
class _Event:
    block: _Block
    raw: str
    component: icalendar.Event
    uid: str
    where: str
    start: datetime  # UTC
    recurrence_id: datetime | None  # UTC
    rank: tuple[int, datetime]
    written_starts: list[datetime]  # DTSTART and RDATEs, UTC
    recurring: bool
    tzid: str | None = None  # DTSTART's TZID as published
    uid_synthesised: bool = False  # the VEVENT had no UID: ``uid`` is a hash of its content

    @property
    def label(self) -> str:
        return f"VEVENT #{self.block.index} (line {self.block.line.number})"


def _read_event(feed: _Feed, block: _Block, zones: _Zones, notes: _Notes) -> _Event | Rejected:
    raw = feed.raw(block)
    uid = ""
    for line in block.lines:
        parts = _property_parts(line.text) if _property_name(line.text) == "UID" else None
        if parts is not None:
            uid = _clean(str(icalendar.vText.from_ical(parts[1]))).strip()
            break
    where = f"VEVENT #{block.index} (line {block.line.number}{f', UID {uid}' if uid else ''})"
    if block.broken:
        return Rejected(where, block.broken, raw)
    if block.undecodable:
        return Rejected(where, "not UTF-8: the VEVENT has undecodable bytes", raw)
    synthesised = not uid
    if synthesised:
        content = "\n".join(line.text for line in block.lines if _property_name(line.text) != "DTSTAMP")
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
    lines += [f"{_INDEX}:{block.index}", "END:VEVENT"]
    try:
        component = cast(icalendar.Event, icalendar.Event.from_ical("\r\n".join(lines) + "\r\n"))
        problem = _check(component, zones.default, where, notes, dropped)
    except Exception as exc:
        problem = f"unreadable VEVENT: {type(exc).__name__}: {exc}"
    if problem:
        return Rejected(where, problem, raw)
    if synthesised:
        notes.single.append(Note(f"UID {uid}", f"{where}: no UID in the VEVENT, synthesised from its content"))
    event = _event(block, raw, component, uid, where, zones.default)
    event.tzid = _clean(published_tzid) if published_tzid else None
    event.uid_synthesised = synthesised
    event.recurring = event.recurring or "RRULE" in dropped  # as published: one with an unreadable rule recurs
    return event


_Dropped = dict[str, list[tuple[str, str]]]  # property name → [(its value or line as published, why unreadable)]


def _used_properties(
    block: _Block, where: str, notes: _Notes, dropped: _Dropped
) -> dict[str, list[tuple[Parameters, str, str]]] | str:
    """The VEVENT's properties the model uses: name → [(parameters, raw value, line)], or why it is rejected;
    unreadable DTEND, DURATION and RRULE lines go to ``dropped``."""
    props: dict[str, list[tuple[Parameters, str, str]]] = {}
    for line in block.lines:
        name = _property_name(line.text)
        if name not in USED_PROPERTIES:
            continue
        text = line.text
        if name in _TIME_PROPERTIES:
            time_parts = _time_property_parts(text)
            parts = time_parts[:2] if time_parts else None
            if time_parts and time_parts[2]:
                notes.add(f"{name} with misquoted or empty parameters read leniently", where)
        else:
            parts = _property_parts(text)
        if parts is not None and name == "RRULE" and any(char.isspace() for char in parts[1]):
            notes.add("RRULE with spaces read without them", where)
            parts = parts[0], "".join(parts[1].split())
            text = f"RRULE;{parts[0].to_ical().decode()}:{parts[1]}" if parts[0] else f"RRULE:{parts[1]}"
        if parts is not None and not parts[1].strip() and name in ("RRULE", "RDATE", "EXDATE"):
            notes.add(f"empty {name} ignored", where)
            continue
        if parts is None or (not parts[1].strip() and name in _REQUIRED_READABLE | _DROPPABLE):
            if name in _REQUIRED_READABLE:
                return f"unreadable {name} line: {_clean(text)[:120]!r}"
            if name in _DROPPABLE:
                shown, why = (_clean(text), "not a content line") if parts is None else ("", "empty")
                dropped.setdefault(name, []).append((shown, why))
                continue
            notes.add(f"unreadable {name} line ignored", where)
            continue
        props.setdefault(name, []).append((*parts, text))
    return props


def _check(component: icalendar.Event, zone: ZoneInfo, where: str, notes: _Notes, dropped: _Dropped) -> str | None:
    """Why the VEVENT cannot be loaded, or None; unreadable properties that do not matter are dropped, an
    unreadable DTEND, DURATION or RRULE with a note saying what is loaded instead."""
    for name, message in component.errors:
        if name in _REQUIRED_READABLE:
            return f"unreadable {name}: {message}"
        if name == "RDATE" or name in _DROPPABLE:  # decided below, value by value
            continue
        if name and name.upper() in component:
            component.pop(name.upper())
        kind = "absent" if name in ("SEQUENCE", "LAST-MODIFIED") else "NULL"
        notes.add(f"unreadable {name or 'content line'} read as {kind}", where)
    if "DTSTART" not in component:
        return "no DTSTART"
    for name in ("DTSTART", "RECURRENCE-ID"):
        value = getattr(component.get(name), "dt", date.min)
        if not isinstance(value, date):
            return f"{name} is not a date or date-time: {value!r}"
    for value in _listed(component, "EXDATE"):
        if not isinstance(value, icalendar.vDDDLists) or not all(isinstance(m.dt, date) for m in value.dts):
            return f"EXDATE is not a list of dates or date-times: {value.to_ical()!r}"
    start = cast(date, _dt(component, "DTSTART"))
    start_utc = to_utc(start, zone)
    _keep_expandable_rules(component, dropped)
    for name in _END_PROPERTIES:
        why = _unreadable_end(component, name, start, start_utc, zone)
        if why:
            dropped.setdefault(name, []).append((_value_text(component[name]), why))
            component.pop(name)
    _keep_readable_rdates(component, where, notes)
    status = component.get("STATUS")
    if status is not None:
        text = str(status).strip().upper()
        if text in _STATUSES:
            component["STATUS"] = text
        else:
            component.pop("STATUS")
            notes.add(f"STATUS {str(status)[:40]!r} is not CONFIRMED, TENTATIVE or CANCELLED: read as NULL", where)
    if "DTEND" in component and to_utc(cast(date, _dt(component, "DTEND")), zone) < start_utc:
        notes.add("DTEND before DTSTART: read swapped", where)
    for name in _END_PROPERTIES:
        for shown, why in dropped.get(name, []):
            notes.add(_end_note(name, shown, why, component, start), where)
    for shown, why in dropped.get("RRULE", []):
        notes.add(_rule_note(shown, why), where)
    return None


def _value_text(value: Any) -> str:
    """A property value as published (the raw text of an unreadable one)."""
    if isinstance(value, list):
        return ",".join(_value_text(item) for item in value)
    if isinstance(value, icalendar.vBroken):
        return _clean(str(value))
    try:
        return _clean(value.to_ical().decode("utf-8", errors="replace"))
    except Exception:
        return _clean(str(value))


def _keep_expandable_rules(component: icalendar.Event, dropped: _Dropped) -> None:
    """Drops the RRULEs that cannot be read or expanded (to ``dropped``); RSCALE=GREGORIAN and SKIP=OMIT (RFC
    7529's defaults) are removed from the others, as the expansion does not know them."""
    rules = _listed(component, "RRULE")
    kept = []
    for rule in rules:
        if isinstance(rule, icalendar.vBroken):
            dropped.setdefault("RRULE", []).append((_value_text(rule), f"unreadable: {rule.parse_error}"))
            continue
        if not isinstance(rule, icalendar.vRecur):
            dropped.setdefault("RRULE", []).append((_value_text(rule), "not a recurrence rule"))
            continue
        scale = _rule_part(rule, "RSCALE") or "GREGORIAN"
        if scale != "GREGORIAN":
            why = f"RSCALE={scale}: a non-Gregorian calendar (RFC 7529), which the expansion does not know"
            dropped.setdefault("RRULE", []).append((_value_text(rule), why))
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


def _unreadable_end(
    component: icalendar.Event, name: str, start: date, start_utc: datetime, zone: ZoneInfo
) -> str | None:
    """Why the VEVENT's DTEND or DURATION cannot be read, None when it can (or is absent)."""
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
            _ends = start_utc + moment, start + moment  # both must be representable
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


def _rule_note(shown: str, why: str) -> str:
    return (
        f"RRULE {shown[:80]!r} not expanded ({why[:120]}): the written DTSTART and RDATEs are its occurrences, the "
        "rule's others are not loaded"
    )


def _expansion_problem(exc: Exception) -> str:
    """What an expansion error says; recurring_ical_events reports every rule dateutil refuses as "UNTIL parameter
    is missing", the ValueError it replaced says why."""
    context = exc.__context__
    if isinstance(context, ValueError) and str(context):
        return f"{type(context).__name__}: {context}"
    return f"{type(exc).__name__}: {exc}"


def _dt(component: icalendar.Component, name: str) -> Any:
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


def _keep_readable_rdates(component: icalendar.Event, where: str, notes: _Notes) -> None:
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


def _event(block: _Block, raw: str, component: icalendar.Event, uid: str, where: str, zone: ZoneInfo) -> _Event:
    start = to_utc(cast(date, _dt(component, "DTSTART")), zone)
    recurrence_id = component.get("RECURRENCE-ID")
    written = [start]
    for value in _listed(component, "RDATE"):
        for moment in value.dts:
            written.append(to_utc(moment.dt[0] if isinstance(moment.dt, tuple) else moment.dt, zone))
    return _Event(
        block=block,
        raw=raw,
        component=component,
        uid=uid,
        where=where,
        start=start,
        recurrence_id=to_utc(recurrence_id.dt, zone) if recurrence_id is not None else None,
        rank=_rank(component, zone),
        written_starts=written,
        recurring="RRULE" in component or "RDATE" in component,
    )


def _rank(component: icalendar.Component, zone: ZoneInfo) -> tuple[int, datetime]:
    modified = getattr(component.get("LAST-MODIFIED"), "dt", None)
    try:
        sequence = int(component.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        sequence = 0
    return sequence, to_utc(modified, zone) if isinstance(modified, date) else _OLDEST


def _latest_versions(events: list[_Event], notes: _Notes) -> tuple[list[_Event], list[Rejected]]:
    """One VEVENT per (UID, RECURRENCE-ID): the highest SEQUENCE / latest LAST-MODIFIED (the later on a tie);
    older versions are noted, duplicates and conflicting versions rejected."""
    groups: dict[tuple[str, datetime | None], list[_Event]] = {}
    for event in events:
        groups.setdefault((event.uid, event.recurrence_id), []).append(event)
    kept: list[_Event] = []
    rejected: list[Rejected] = []
    for members in groups.values():
        best = members[0]
        for member in members[1:]:
            if member.rank >= best.rank:
                best = member
        kept.append(best)
        for member in members:
            if member is best:
                continue
            if member.rank < best.rank:
                notes.add(
                    f"superseded by a later version (higher SEQUENCE / LAST-MODIFIED) in {best.label}", member.where
                )
            elif member.start == best.start:
                same = " (identical text)" if _same_text(member, best) else ""
                reason = f"duplicate of {best.label}: same UID, RECURRENCE-ID, start, SEQUENCE and LAST-MODIFIED{same}"
                rejected.append(Rejected(member.where, reason, member.raw))
            else:
                reason = (
                    f"conflicts with {best.label}: same UID, RECURRENCE-ID, SEQUENCE and LAST-MODIFIED but another "
                    f"start ({member.start:%Y-%m-%d %H:%M} UTC, kept {best.start:%Y-%m-%d %H:%M} UTC, the later one)"
                )
                rejected.append(Rejected(member.where, reason, member.raw))
    kept.sort(key=lambda event: event.block.index)
    return kept, rejected


def _same_text(one: _Event, other: _Event) -> bool:
    def significant(event: _Event) -> list[str]:
        return [line.text for line in event.block.lines if _property_name(line.text) != "DTSTAMP"]

    return significant(one) == significant(other)


# --- window and expansion --------------------------------------------------------------------------------------


def _as_date(value: date | str | None, option: str) -> date | None:
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


def _window(
    events: list[_Event], options: Mapping[str, Any], zone: ZoneInfo, notes: _Notes
) -> tuple[datetime, datetime]:
    """[first day 00:00, day after last day 00:00) in ``zone``."""
    first = _as_date(options.get("window_start"), "window_start")
    last = _as_date(options.get("window_end"), "window_end")
    logical = _as_date(options.get("logical_date"), "logical_date")
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
    members: list[_Event], window: tuple[datetime, datetime], zone: ZoneInfo, notes: _Notes
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


def _expand_or_written(
    members: list[_Event], window: tuple[datetime, datetime], zone: ZoneInfo, notes: _Notes
) -> list[icalendar.Component] | str:
    """The series' occurrences; when its RRULEs cannot be expanded, those of its written starts (DTSTART, RDATE,
    less EXDATE) with a note, never the rule's others; why it cannot be expanded at all otherwise."""
    try:
        return _expand(members, window, zone, notes)
    except Exception as exc:
        problem = _expansion_problem(exc)
    ruled = [member for member in members if "RRULE" in member.component]
    if not ruled:
        return problem
    rules = {member.where: _value_text(member.component.pop("RRULE")) for member in ruled}
    try:
        occurrences = _expand(members, window, zone, notes)
    except Exception:
        return problem
    for where, rule in rules.items():
        notes.add(_rule_note(rule, f"cannot be expanded: {problem}"), where)
    return occurrences


# --- rows ------------------------------------------------------------------------------------------------------


def _row(
    occurrence: icalendar.Component, source: _Event, zone: ZoneInfo, recurring: bool, options: Mapping[str, Any]
) -> tuple:
    """The row of one occurrence; ``source`` is the VEVENT it comes from (the series' or an override)."""
    start = cast(date | datetime, _dt(occurrence, "DTSTART"))
    end = cast(date | datetime, _dt(occurrence, "DTEND") or start)
    modified = _dt(occurrence, "LAST-MODIFIED")
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
        _rank(occurrence, zone)[0],
        to_utc(modified, zone) if isinstance(modified, date) else None,
        recurring,
        json.dumps(event_places(location, summary, description, options), ensure_ascii=False),
        source.uid_synthesised,
    )


def _text(component: icalendar.Component, name: str) -> str | None:
    value = component.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return _clean(str(value)) if value else None


def _clean(text: str) -> str:
    """Text PostgreSQL stores: undecodable bytes and NUL as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text).replace("\x00", "\ufffd")


def _row_rank(row: tuple) -> tuple[int, datetime]:
    return row[9], row[10] or _OLDEST


# --- the whole feed ------------------------------------------------------------------------------------------


def _default_zone(feed: _Feed, options: Mapping[str, Any], notes: _Notes) -> ZoneInfo:
    if options.get("default_timezone"):
        name = str(options["default_timezone"])
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ParseError(f"option default_timezone: unknown time zone {name!r}") from exc
    for line in feed.calendar_lines:
        if _property_name(line.text) == "X-WR-TIMEZONE":
            parts = _property_parts(line.text)
            published = _clean_tzid(parts[1]) if parts else line.text
            zone = _iana_zone(published) or (_windows_zone(published) or (None, ""))[0]
            if zone:
                if zone != published:
                    notes.add(f"X-WR-TIMEZONE {published!r} read as {zone}", "file")
                return ZoneInfo(zone)
            notes.add(f"X-WR-TIMEZONE {published[:60]!r} is not a time zone we know: UTC is used", "file")
            break
    return ZoneInfo("UTC")


def _parse(payload: bytes, options: Mapping[str, Any]) -> list[tuple | Rejected | Note]:
    try:
        event_places(None, None, None, options)  # a configuration error is raised before the payload is read
    except ValueError as exc:
        raise ParseError(f"options: {exc}") from exc
    feed = _scan(payload)
    notes = _Notes()
    zone = _default_zone(feed, options, notes)
    _as_date(options.get("window_start"), "window_start")
    _as_date(options.get("window_end"), "window_end")
    _as_date(options.get("logical_date"), "logical_date")
    if feed.calendars > 1:
        notes.add(f"the payload holds {feed.calendars} VCALENDARs: their VEVENTs are read together", "file")
    if feed.stray_lines:
        notes.add(f"{feed.stray_lines} lines outside a VCALENDAR or without their BEGIN ignored", "file")
    if feed.unended:
        notes.add(feed.unended, "file")
    wrappers: dict[str, int] = {}
    for block in feed.events:
        wrappers[block.wrapper] = wrappers.get(block.wrapper, 0) + 1
    for wrapper, count in wrappers.items():
        if not wrapper:
            notes.add(
                f"{count} VEVENT(s) without a VCALENDAR around them (the wrapper is missing): read as in one", "file"
            )
        elif wrapper != "VCALENDAR":
            notes.add(
                f"{count} VEVENT(s) inside {wrapper}, an unknown component, not in a VCALENDAR: read as in one", "file"
            )
    outside = [f"{count} {name}" for name, count in sorted(feed.skipped.items()) if name.endswith(" outside VCALENDAR")]
    if outside and feed.events:
        notes.add(f"components ignored: {', '.join(outside)}", "file")
    if not feed.events:
        skipped = ", ".join(f"{count} {name}" for name, count in sorted(feed.skipped.items()))
        return [Note("file", f"no VEVENT in the calendar{f' ({skipped})' if skipped else ''}: no rows"), *notes]
    zones = _Zones(feed, zone, notes)
    out: list[tuple | Rejected | Note] = []
    events: list[_Event] = []
    for block in feed.events:
        read = _read_event(feed, block, zones, notes)
        if isinstance(read, Rejected):
            out.append(read)
        else:
            events.append(read)
    events, rejected = _latest_versions(events, notes)
    out += rejected
    if events:
        out += _occurrence_rows(events, options, zone, notes)
    return [*out, *notes]


def _occurrence_rows(
    events: list[_Event], options: Mapping[str, Any], zone: ZoneInfo, notes: _Notes
) -> list[tuple | Rejected]:
    window = _window(events, options, zone, notes)
    by_index = {event.block.index: event for event in events}
    series: dict[str, list[_Event]] = {}
    for event in events:
        series.setdefault(event.uid, []).append(event)
    out: list[tuple | Rejected] = []
    kept: dict[tuple[str, datetime], tuple[tuple, _Event]] = {}
    for uid, members in series.items():
        occurrences = _expand_or_written(members, window, zone, notes)
        if isinstance(occurrences, str):
            reason = f"cannot expand the recurrence of UID {uid}: {occurrences}"
            out += [Rejected(member.where, reason, member.raw) for member in members]
            continue
        recurring = any(member.recurring for member in members)
        loaded = 0
        for occurrence in occurrences:
            source = by_index.get(int(str(occurrence.get(_INDEX, 0)) or 0), members[0])
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
