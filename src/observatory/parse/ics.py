"""iCalendar (RFC 5545) feeds → ``calendar_event`` rows, one per occurrence in a window (and one per VEVENT
without a readable start).

Options (all optional):

- ``default_timezone``: zone for floating date-times, all-day dates and TZIDs that cannot be
  resolved; defaults to the feed's ``X-WR-TIMEZONE``, else ``UTC``.
- ``window_start`` / ``window_end``: ISO dates (or YAML dates), both inclusive, read as
  whole days in ``default_timezone``. Occurrences *starting* inside the window are kept.
- ``logical_date``: ISO date (or YAML date) of the run, passed by the pipeline. Without
  ``window_start`` / ``window_end`` the window runs from ``calendar.recurrence.WINDOW_MONTHS_BACK`` (12) months
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
so ``Z`` times keep their ``'UTC'`` origin), at most ``calendar.recurrence.MAX_OCCURRENCES_PER_SERIES`` per series
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
(``calendar.vevent.USED_PROPERTIES``); others (CREATED, DTSTAMP, ATTACH, X-...) are never validated. A VEVENT
is yielded as ``Rejected`` (its text, the reason) when it has undecodable bytes, no END, an
unreadable EXDATE or RECURRENCE-ID, or when its series cannot be expanded even without its
RRULEs. Decided per property, each with a ``Note``:

- No DTSTART, or an unreadable one (``DTSTART:INVALID-DATE``, a 31 February): the VEVENT is ONE row whose
  ``occurrence_start_utc`` is NULL and ``start_missing_reason`` says why (``no DTSTART``, ``unreadable DTSTART:
  ...``); no start is invented (not from DTSTAMP, CREATED or DTEND). Its end is its DTEND when readable (an
  absolute end), else NULL (a DURATION says nothing without a start); ``all_day`` and ``original_tzid`` are NULL;
  RRULE and RDATE are not expanded. Such rows are kept whatever the window (they cannot be placed in it).
  ``start_missing_reason`` is NULL on every row with a start.
- RRULE whose UNTIL precedes its DTSTART (how Confluence deletes a series; ``recurring_ical_events`` then yields no
  occurrence at all): RFC 5545 (3.8.5.3) counts DTSTART as the first occurrence, so the rule is removed and the
  written DTSTART (and RDATEs) are the series' occurrences, with a note.

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
Eastern Time (US & Canada)``: ``calendar.timezones.WINDOWS_DISPLAY_NAMES`` gives its Windows zone, else a city
it names whose standard offset matches) or a bare offset (``UTC+11``); else
``default_timezone``. Quotes around a TZID are ignored and
an unquoted TZID containing ``:`` is read whole. Every TZID not read as an IANA name of the
same spelling gets a note.

Versions and duplicates, per (UID, RECURRENCE-ID): the VEVENT with the highest (SEQUENCE,
LAST-MODIFIED) is kept (the later in the feed on a tie). A lower one is an older version of
the same event, superseded by an update: not loaded, with a note. One with the same SEQUENCE,
LAST-MODIFIED and start is a duplicate and one with the same SEQUENCE and LAST-MODIFIED but
another start a conflicting version: both are ``Rejected`` naming the VEVENT kept (two without a start have the
same start). Rows are unique on (event_uid, occurrence_start_utc), a NULL start counting as one value (one row
without a start per UID); an occurrence that collides with a kept one (an override moved onto another occurrence,
a second VEVENT of the UID without a start) is ``Rejected`` too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from observatory.extract.locations import event_places
from observatory.parse import Note, ParseError, Rejected
from observatory.parse.calendar.notes import Notes
from observatory.parse.calendar.recurrence import (
    as_date,
)
from observatory.parse.calendar.rows import occurrence_rows
from observatory.parse.calendar.structure import scan
from observatory.parse.calendar.timezones import Zones, default_zone
from observatory.parse.calendar.versions import latest_versions
from observatory.parse.calendar.vevent import Event, read_event

RAW_TABLE = "calendar_event"


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """Yield one ``calendar_event`` row per occurrence in the window (one per VEVENT without a start), a
    ``Rejected`` per unreadable VEVENT and the ``Note``s; the payload is read whole before anything is yielded."""
    try:
        results = _parse(payload, options)
    except ParseError:
        raise
    except Exception as exc:  # the contract: a parser raises ParseError and nothing else
        raise ParseError(f"iCalendar payload could not be read: {type(exc).__name__}: {exc}") from exc
    yield from results


def _parse(payload: bytes, options: Mapping[str, Any]) -> list[tuple | Rejected | Note]:
    try:
        event_places(None, None, None, options)  # a configuration error is raised before the payload is read
    except ValueError as exc:
        raise ParseError(f"options: {exc}") from exc
    feed = scan(payload)
    notes = Notes()
    zone = default_zone(feed, options, notes)
    as_date(options.get("window_start"), "window_start")
    as_date(options.get("window_end"), "window_end")
    as_date(options.get("logical_date"), "logical_date")
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
    zones = Zones(feed, zone, notes)
    out: list[tuple | Rejected | Note] = []
    events: list[Event] = []
    for block in feed.events:
        read = read_event(feed, block, zones, notes)
        if isinstance(read, Rejected):
            out.append(read)
        else:
            events.append(read)
    events, rejected = latest_versions(events, notes)
    out += rejected
    if events:
        out += occurrence_rows(events, options, zone, notes)
    return [*out, *notes]
