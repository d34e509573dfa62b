"""A synthetic city-network iCalendar feed of K events, in the shape of the bundled real feeds.

``write_ics(path, events, seed)`` writes, line by line (nothing of the feed is held in memory), a ``VCALENDAR``
as a WordPress or Google Calendar export of a city network's events has it: ``PRODID``, ``X-WR-TIMEZONE``, the
``Europe/Berlin`` ``VTIMEZONE`` of ``sample_data/events/fablab_cottbus.ics``, then ``events`` ``VEVENT``s with a
``UID``, ``DTSTAMP``, a ``DTSTART;TZID=Europe/Berlin`` (or a ``VALUE=DATE`` day), ``DTEND``, ``SUMMARY``,
``LOCATION`` (a venue in one of the network's cities), a ``DESCRIPTION`` of several hundred characters with
commas and semicolons escaped and lines folded at 75 octets (never inside a UTF-8 character, as RFC 5545 says),
``URL`` and ``CATEGORIES``. Like the real feeds, some are odd:

- every ``RECURRING_EVERY``-th event repeats weekly (``RRULE:FREQ=WEEKLY;COUNT=n``, n from 2 to 10), and every
  third of those has one occurrence removed by an ``EXDATE``;
- every ``ALL_DAY_EVERY``-th event is an all-day event (``DTSTART;VALUE=DATE``);
- every ``UNDATED_EVERY``-th event has no ``DTSTART`` (a real feed's broken export: one row with the reason).

Every start falls between ``WINDOW_START`` and ``WINDOW_END`` (with its recurrences), so the parser, given that
window, yields exactly ``CalendarTruth.rows`` rows: one per occurrence, one per undated event. It is a pure
function of ``(events, seed)``: the same arguments write the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

WINDOW_START = date(2025, 1, 1)
WINDOW_END = date(2026, 12, 31)
LAST_START = date(2026, 9, 30)  # ten weekly occurrences later, still inside the window
RECURRING_EVERY = 4
ALL_DAY_EVERY = 10
UNDATED_EVERY = 997
TIMEZONE = "Europe/Berlin"
# the network's cities and a venue in each, as LOCATION fields of city-network calendars name them
CITIES = (
    ("Berlin", "Rathaus Schöneberg, John-F.-Kennedy-Platz 1, 10825 Berlin"),
    ("Leipzig", "Neues Rathaus, Martin-Luther-Ring 4, 04109 Leipzig"),
    ("Amsterdam", "Stadhuis, Amstel 1, 1011 PN Amsterdam"),
    ("Ghent", "Stadhuis Gent, Botermarkt 1, 9000 Gent"),
    ("Milan", "Palazzo Marino, Piazza della Scala 2, 20121 Milano"),
    ("Barcelona", "Ajuntament de Barcelona, Plaça de Sant Jaume 1, 08002 Barcelona"),
    ("Vienna", "Wiener Rathaus, Friedrich-Schmidt-Platz 1, 1010 Wien"),
    ("Prague", "Nová radnice, Mariánské náměstí 2, 110 00 Praha"),
    ("Lisbon", "Paços do Concelho, Praça do Município, 1100-365 Lisboa"),
    ("Gothenburg", "Stadshuset, Gustaf Adolfs torg 1, 411 10 Göteborg"),
)
TOPICS = (
    "Welcome café for newcomers",
    "Language exchange evening",
    "Peer learning: housing for refugees",
    "Working group on labour market integration",
    "Intercultural cities network meeting",
    "Information session on recognition of qualifications",
    "Community mentoring workshop",
    "Webinar: inclusive public services",
)
VTIMEZONE = (
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "X-LIC-LOCATION:Europe/Berlin",
    "BEGIN:STANDARD",
    "DTSTART:19701025T030000",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "TZNAME:CET",
    "END:STANDARD",
    "BEGIN:DAYLIGHT",
    "DTSTART:19700329T020000",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "TZNAME:CEST",
    "END:DAYLIGHT",
    "END:VTIMEZONE",
)


@dataclass(frozen=True)
class CalendarTruth:
    """What a feed written by ``write_ics`` holds: its events, the rows the parser must yield for the window
    ``WINDOW_START``-``WINDOW_END``, and of those the undated ones."""

    events: int
    rows: int
    undated: int
    recurring: int


def fold(line: str) -> str:
    """RFC 5545 §3.1: lines of at most 75 octets, continued after CRLF and one space, never splitting a
    character's UTF-8 bytes."""
    out, width, limit = [], 0, 75
    for char in line:
        size = len(char.encode("utf-8"))
        if width + size > limit:
            out.append("\r\n ")
            width, limit = 1, 75
        out.append(char)
        width += size
    return "".join(out) + "\r\n"


def escape(text: str) -> str:
    """A TEXT value: backslash, semicolon, comma and newline escaped."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def _vevent(i: int, rng: random.Random) -> tuple[list[str], int]:
    """The lines of event ``i`` (unfolded) and how many rows it yields."""
    city, venue = CITIES[rng.randrange(len(CITIES))]
    topic = TOPICS[rng.randrange(len(TOPICS))]
    day = LAST_START - timedelta(days=rng.randrange((LAST_START - WINDOW_START).days))
    start = datetime(day.year, day.month, day.day, rng.choice((9, 10, 14, 17, 18)), rng.choice((0, 30)))
    description = (
        f"{topic} in {city}, part of the city network's programme on the inclusion of migrants and refugees. "
        "Open to residents, newcomers, volunteers and city staff; interpretation on request; free of charge. "
        f"Registration: write to the integration office of {city}; places are limited to {rng.randint(12, 80)}.\n"
        "Bitte meldet euch an; Inscriptions ouvertes; Iscrizioni aperte; Inscripciones abiertas."
    )
    lines = [
        "BEGIN:VEVENT",
        f"UID:gen-{i:08d}@events.observatory.example",
        "DTSTAMP:20261101T120000Z",
        f"SUMMARY:{escape(f'{topic} ({city})')}",
        f"LOCATION:{escape(venue)}",
        f"DESCRIPTION:{escape(description)}",
        f"URL:https://events.observatory.example/{city.lower()}/{i}",
        "CATEGORIES:Integration,Network",
    ]
    rows = 1
    if i % UNDATED_EVERY == UNDATED_EVERY - 1:
        lines.append("END:VEVENT")
        return lines, rows
    if i % ALL_DAY_EVERY == ALL_DAY_EVERY - 1:
        lines += [f"DTSTART;VALUE=DATE:{day:%Y%m%d}", f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}"]
    else:
        end = start + timedelta(minutes=rng.choice((60, 90, 120)))
        lines += [f"DTSTART;TZID={TIMEZONE}:{_stamp(start)}", f"DTEND;TZID={TIMEZONE}:{_stamp(end)}"]
        if i % RECURRING_EVERY == RECURRING_EVERY - 1:
            count = rng.randint(2, 10)
            lines.append(f"RRULE:FREQ=WEEKLY;COUNT={count}")
            rows = count
            if (i // RECURRING_EVERY) % 3 == 0:
                lines.append(f"EXDATE;TZID={TIMEZONE}:{_stamp(start + timedelta(weeks=1))}")
                rows -= 1
    lines.append("END:VEVENT")
    return lines, rows


def write_ics(path: Path, events: int, seed: int = 20261202) -> CalendarTruth:
    """Write the feed of ``events`` events to ``path``; returns what it holds."""
    rng = random.Random(seed)
    rows = undated = recurring = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        header = (
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Integrating Cities Observatory//synthetic city-network calendar//EN",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            "X-WR-CALNAME:City network events (synthetic)",
            f"X-WR-TIMEZONE:{TIMEZONE}",
            *VTIMEZONE,
        )
        out.writelines(fold(line) for line in header)
        for i in range(events):
            lines, count = _vevent(i, rng)
            out.writelines(fold(line) for line in lines)
            rows += count
            undated += i % UNDATED_EVERY == UNDATED_EVERY - 1
            recurring += any(line.startswith("RRULE:") for line in lines)
        out.write(fold("END:VCALENDAR"))
    return CalendarTruth(events=events, rows=rows, undated=undated, recurring=recurring)
