"""Time zones: TZIDs as published (IANA names, the feed's VTIMEZONEs, Windows names, bare offsets) → zones
icalendar resolves, the feed's default zone, and times in UTC."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import icalendar
from icalendar.timezone import tzp
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from observatory.parse import ParseError
from observatory.parse.calendar.notes import Notes
from observatory.parse.calendar.structure import Block, Feed, logical_lines, property_name, property_parts

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


def to_utc(value: date | datetime, zone: ZoneInfo) -> datetime:
    """An aware UTC datetime; naive times and dates (at 00:00) are read in ``zone``."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


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


class Zones:
    """TZID as published → a key icalendar resolves to the same zone for every payload: an IANA name, or a key
    unique to a VTIMEZONE's text (icalendar caches VTIMEZONEs by TZID for the whole process)."""

    def __init__(self, feed: Feed, default: ZoneInfo, notes: Notes) -> None:
        self.default = default
        self.notes = notes
        self.keys: dict[str, tuple[str, str | None]] = {}  # published → (key, note for each VEVENT using it)
        self.vtimezones: dict[str, str] = {}  # folded TZID → key of its VTIMEZONE
        for block in feed.timezones:
            self._read_vtimezone(feed, block)

    def _read_vtimezone(self, feed: Feed, block: Block) -> None:
        tzids = [property_parts(line.text) for line in block.lines if property_name(line.text) == "TZID"]
        tzid = _clean_tzid(tzids[0][1]) if tzids and tzids[0] is not None else ""
        if not tzid:
            self.notes.add("VTIMEZONE without a readable TZID ignored", f"line {block.line.number}")
            return
        if _fold(tzid) in self.vtimezones or _iana_zone(tzid):
            return
        lines = [line.text for line in logical_lines(feed.text[block.line.begin : block.end])]
        body = [line for line in lines[1:] if property_name(line) != "TZID"]
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


def default_zone(feed: Feed, options: Mapping[str, Any], notes: Notes) -> ZoneInfo:
    if options.get("default_timezone"):
        name = str(options["default_timezone"])
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ParseError(f"option default_timezone: unknown time zone {name!r}") from exc
    for line in feed.calendar_lines:
        if property_name(line.text) == "X-WR-TIMEZONE":
            parts = property_parts(line.text)
            published = _clean_tzid(parts[1]) if parts else line.text
            zone = _iana_zone(published) or (_windows_zone(published) or (None, ""))[0]
            if zone:
                if zone != published:
                    notes.add(f"X-WR-TIMEZONE {published!r} read as {zone}", "file")
                return ZoneInfo(zone)
            notes.add(f"X-WR-TIMEZONE {published[:60]!r} is not a time zone we know: UTC is used", "file")
            break
    return ZoneInfo("UTC")
