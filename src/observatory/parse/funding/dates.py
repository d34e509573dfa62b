"""Date cells: their day-first and month-first readings, configured formats, and the order of a whole column."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from observatory.parse import Note
from observatory.parse.funding.cells import DATE_FIELDS, SPACES, CellError, shown

_MONTHS = {
    # English
    **dict.fromkeys(("january", "jan"), 1),
    **dict.fromkeys(("february", "feb"), 2),
    **dict.fromkeys(("march", "mar"), 3),
    **dict.fromkeys(("april", "apr"), 4),
    **dict.fromkeys(("may",), 5),
    **dict.fromkeys(("june", "jun"), 6),
    **dict.fromkeys(("july", "jul"), 7),
    **dict.fromkeys(("august", "aug"), 8),
    **dict.fromkeys(("september", "sep", "sept"), 9),
    **dict.fromkeys(("october", "oct"), 10),
    **dict.fromkeys(("november", "nov"), 11),
    **dict.fromkeys(("december", "dec"), 12),
    # German
    **dict.fromkeys(("januar", "jänner", "jän", "jaen"), 1),
    **dict.fromkeys(("februar", "feber"), 2),
    **dict.fromkeys(("märz", "mär", "mrz", "maerz"), 3),
    **dict.fromkeys(("mai",), 5),
    **dict.fromkeys(("juni",), 6),
    **dict.fromkeys(("juli",), 7),
    **dict.fromkeys(("oktober", "okt"), 10),
    **dict.fromkeys(("dezember", "dez"), 12),
    # French
    **dict.fromkeys(("janvier", "janv"), 1),
    **dict.fromkeys(("février", "févr", "fevrier", "fevr", "fév", "fev"), 2),
    **dict.fromkeys(("mars",), 3),
    **dict.fromkeys(("avril", "avr"), 4),
    **dict.fromkeys(("juin",), 6),
    **dict.fromkeys(("juillet", "juil"), 7),
    **dict.fromkeys(("août", "aout", "aoû"), 8),
    **dict.fromkeys(("septembre",), 9),
    **dict.fromkeys(("octobre",), 10),
    **dict.fromkeys(("novembre",), 11),
    **dict.fromkeys(("décembre", "decembre", "déc"), 12),
    # Dutch, Italian, Spanish
    **dict.fromkeys(("januari", "gennaio", "gen", "enero", "ene"), 1),
    **dict.fromkeys(("februari", "febbraio", "febrero"), 2),
    **dict.fromkeys(("maart", "mrt", "marzo"), 3),
    **dict.fromkeys(("aprile", "abril", "abr"), 4),
    **dict.fromkeys(("mei", "maggio", "mag", "mayo"), 5),
    **dict.fromkeys(("giugno", "giu", "junio"), 6),
    **dict.fromkeys(("luglio", "lug", "julio"), 7),
    **dict.fromkeys(("augustus", "agosto", "ago"), 8),
    **dict.fromkeys(("settembre", "set", "septiembre", "setiembre"), 9),
    **dict.fromkeys(("oktober", "ottobre", "ott", "octubre"), 10),
    **dict.fromkeys(("noviembre",), 11),
    **dict.fromkeys(("dicembre", "dic", "diciembre"), 12),
}
_WEEKDAY = re.compile(
    r"^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun"
    r"|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|mo|di|mi|do|fr|sa|so"
    r"|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\.?,?\s+",
    re.IGNORECASE,
)
_TIME = re.compile(r"(?:T|\s+)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|UTC)?$", re.IGNORECASE)
_ISO = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})\.?")
_NUMERIC = re.compile(r"(\d{1,2})\s*([./-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})\.?")
_DAY_MONTH = re.compile(r"(\d{1,2})(?:\.|er|st|nd|rd|th)?\s*[-/ ]?\s*([^\W\d_]+)\.?\s*[-/ ,]?\s*(\d{4}|\d{2})\.?")
_MONTH_DAY = re.compile(r"([^\W\d_]+)\.?\s*[-/ ]?\s*(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4}|\d{2})")
_YEAR = re.compile(r"[12][0-9]{3}")

DateReading = tuple[date, str] | str  # (the date, the format that read it) or why it is no date


def _year(text: str) -> int:
    value = int(text)
    if len(text) == 2:  # as strptime's %y
        return value + (2000 if value < 69 else 1900)
    return value


def _made(year: int, month: int, day: int, label: str) -> DateReading:
    try:
        return date(year, month, day), label
    except ValueError as exc:
        return f"no date ({exc}, reading {label})"


def date_readings(cell: str, year_only: bool) -> dict[str, DateReading]:
    """The readings of a date cell day-first (``dmy``) and month-first (``mdy``): the same for a form that does not
    depend on the order (ISO, month names, a bare year); a reason instead of a date when it is none."""
    text = SPACES.sub(" ", cell.strip())
    weekday = _WEEKDAY.match(text)
    if weekday:
        text = text[weekday.end() :]
    text = _TIME.sub("", text).strip()
    prefix = "%A, " if weekday else ""
    if _YEAR.fullmatch(text):
        if year_only:
            reading: DateReading = (date(int(text), 1, 1), "year only")
        else:
            reading = "a bare year (the source does not set year_only_dates)"
        return {"dmy": reading, "mdy": reading}
    if match := _ISO.fullmatch(text):
        year, sep, month, day = match.groups()
        reading = _made(int(year), int(month), int(day), f"%Y{sep}%m{sep}%d")
        return {"dmy": reading, "mdy": reading}
    if match := _NUMERIC.fullmatch(text):
        first, sep, second, year = match.groups()
        y = "%Y" if len(year) == 4 else "%y"
        return {
            "dmy": _made(_year(year), int(second), int(first), f"%d{sep}%m{sep}{y}"),
            "mdy": _made(_year(year), int(first), int(second), f"%m{sep}%d{sep}{y}"),
        }
    for pattern, day_first in ((_DAY_MONTH, True), (_MONTH_DAY, False)):
        if match := pattern.fullmatch(text):
            day, name, year = match.groups() if day_first else (match[2], match[1], match[3])
            month = _MONTHS.get(name.casefold().rstrip("."))
            if month is None:
                reason = f"{shown(name)} is no month name this parser knows"
                return {"dmy": reason, "mdy": reason}
            y = "%Y" if len(year) == 4 else "%y"
            label = f"{prefix}%d %b {y}" if day_first else f"{prefix}%B %d, {y}"
            reading = _made(_year(year), month, int(day), label)
            return {"dmy": reading, "mdy": reading}
    reason = "in no date format this parser knows"
    return {"dmy": reason, "mdy": reason}


def parse_date(cell: str | None, formats: str | Sequence[str], year_only: bool, is_end: bool) -> date | None:
    """Parse with the first matching configured format; a bare year when ``year_only`` (start → Jan 1, end → Dec 31)."""
    if cell is None:
        return None
    if year_only and re.fullmatch(r"[0-9]{4}", cell):
        return date(int(cell), 12, 31) if is_end else date(int(cell), 1, 1)
    candidates = [formats] if isinstance(formats, str) else list(formats)
    for fmt in candidates:
        try:
            return datetime.strptime(cell, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"matches none of the configured formats {candidates}")


def decide_date_orders(texts: Mapping[str, list[str]], options: Mapping[str, Any]) -> tuple[dict[str, str], list[Note]]:
    """The order (``dmy`` or ``mdy``) each date column is read in, unless ``date_format`` is set, and the notes
    saying which and why."""
    if options.get("date_format"):
        return {}, []
    year_only = bool(options.get("year_only_dates", False))
    notes: list[Note] = []
    counts: dict[str, Counter[str]] = {}
    labels: dict[str, dict[str, Counter[str]]] = {}
    for name in DATE_FIELDS:
        counts[name], labels[name] = Counter(), {"dmy": Counter(), "mdy": Counter()}
        for cell in texts[name]:
            readings = date_readings(cell, year_only)
            for order in ("dmy", "mdy"):
                reading = readings[order]
                if isinstance(reading, tuple):
                    counts[name][order] += 1
                    labels[name][order][reading[1]] += 1
    decided = {name: _winner(counts[name]) for name in DATE_FIELDS}
    orders = {}
    for name in DATE_FIELDS:
        if not texts[name]:
            continue
        found = decided[name]
        if found is None:
            other = next((decided[n] for n in DATE_FIELDS if n != name and decided[n]), None)
            order, basis = (other, "as the other date column") if other else ("dmy", "no cell decides: default")
        else:
            order = found
            basis = f"reads {counts[name][order]} cells, the other way {counts[name][_flip(order)]}"
        orders[name] = order
        formats = ", ".join(f"{label} {n}" for label, n in labels[name][order].most_common())
        way = "day-first" if order == "dmy" else "month-first"
        unread = len(texts[name]) - counts[name][order]
        tail = f"; {unread} cell(s) not read: NULL" if unread else ""
        notes.append(
            Note(
                f"column {name}",
                f"dates read {way} ({basis}); formats: {formats or 'none'} of {len(texts[name])} cells{tail}",
            )
        )
    return orders, notes


def read_date(cell: str, name: str, order: str, options: Mapping[str, Any]) -> date:
    """The date of a cell of date column ``name`` read in ``order`` (or with the configured ``date_format``);
    CellError when it reads no date, or only the other way."""
    is_end = name == "end_date"
    year_only = bool(options.get("year_only_dates", False))
    formats = options.get("date_format")
    if formats:
        try:
            value = parse_date(cell, formats, year_only, is_end)
        except ValueError as exc:
            raise CellError(str(exc)) from exc
        assert value is not None  # the cell is not empty
        return value
    readings = date_readings(cell, year_only)
    reading, other = readings[order], readings[_flip(order)]
    if isinstance(reading, str):
        if isinstance(other, tuple):
            way, other_way = ("day-first", "month-first") if order == "dmy" else ("month-first", "day-first")
            raise CellError(f"reads only {other_way} ({other[0].isoformat()}); the column is {way}")
        raise CellError(reading)
    value = reading[0]
    if reading[1] == "year only":
        return date(value.year, 12, 31) if is_end else value
    return value


def _flip(order: str) -> str:
    return "mdy" if order == "dmy" else "dmy"


def _winner(counts: Counter[str]) -> str | None:
    if counts["dmy"] == counts["mdy"]:
        return None
    return "dmy" if counts["dmy"] > counts["mdy"] else "mdy"
