"""Event pages (Markdown with YAML front matter, Hugo style) → one ``calendar_event`` row.

Options:

- ``timezone`` (required): the organiser's zone; naive front-matter times are local there.
- ``field_map``: front-matter keys for ``start``, ``end``, ``title``, ``location`` and
  ``last_modified``, merged over ``DEFAULT_FIELD_MAP`` (Hugo: dtstart, dtend, title, ...).
- ``uid_prefix``: put in front of the slug (default ``""``).
- ``resource_name``: the collected file name; its name without ``.md`` is the slug
  (``tea-time.en.md`` → ``tea-time.en``). Without it the slug is a hash of title and start.
- ``country_code``, ``default_city``, ``text_language``: how ``places`` is resolved from the
  location, title and body (see :func:`observatory.extract.locations.event_places`).

A date-only start makes an all-day event (00:00 in ``timezone``; a date-only end is the
last day, inclusive). Without an end a timed event ends when it starts, an all-day one
after a day. ``original_tzid`` is NULL (pages publish local times without a zone) unless
the time carries a UTC offset of zero (``'UTC'``). The description is the Markdown body
without the ``<!--more-->`` marker (also its broken ``<!--more→`` form). Front-matter keys
without a column (languages, registration, project, ...) are not kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

import frontmatter
import yaml

from observatory.extract.locations import event_places
from observatory.parse import ParseError
from observatory.parse.calendar.timezones import to_utc
from observatory.parse.front_matter import NoAliasYAMLHandler

RAW_TABLE = "calendar_event"

DEFAULT_FIELD_MAP: dict[str, str] = {
    "start": "dtstart",
    "end": "dtend",
    "title": "title",
    "location": "location",
    "last_modified": "lastmod",
}

_MORE_MARKER = re.compile(r"[ \t]*<!--\s*more\s*(?:-->|→)[ \t]*")
_SLUG_JUNK = re.compile(r"[^\w.-]+")


def parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple]:
    """Yield the page's single ``calendar_event`` row."""
    if not options.get("timezone"):
        raise ValueError("event_page: option 'timezone' (the organiser's zone) is required")
    zone = ZoneInfo(str(options["timezone"]))
    fields = {**DEFAULT_FIELD_MAP, **options.get("field_map", {})}
    where = str(options.get("resource_name") or "event page")
    metadata, body = _split(payload, where)
    start = _moment(metadata, fields["start"], where)
    end = _moment(metadata, fields["end"], where, default=start)
    if not isinstance(start, datetime) and not isinstance(end, datetime):
        end += timedelta(days=1)
    title = _text(metadata.get(fields["title"]))
    description = _text(_MORE_MARKER.sub("", body))
    location = _text(metadata.get(fields["location"]))
    start_utc = to_utc(start, zone)
    modified = metadata.get(fields["last_modified"])
    yield (
        str(options.get("uid_prefix", "")) + _slug(options.get("resource_name"), title, start_utc),
        start_utc,
        to_utc(end, zone),
        _original_tzid(start),
        not isinstance(start, datetime),
        title,
        description,
        location,
        None,
        0,
        to_utc(_moment(metadata, fields["last_modified"], where), zone) if modified else None,
        False,
        json.dumps(event_places(location, title, description, options), ensure_ascii=False),
        False,  # uid_synthesised: a page's UID is its slug
        None,  # start_missing_reason: a page always has a start
    )


def _split(payload: bytes, where: str) -> tuple[dict[str, Any], str]:
    """Front matter and Markdown body."""
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{where}: not UTF-8: {exc}") from exc
    try:
        metadata, body = frontmatter.parse(text, handler=NoAliasYAMLHandler())
    except (yaml.YAMLError, ValueError) as exc:
        raise ParseError(f"{where}: unreadable front matter: {exc}") from exc
    if not metadata:
        raise ParseError(f"{where}: no front matter")
    return metadata, body


def _moment(metadata: Mapping[str, Any], key: str, where: str, default: date | None = None) -> date | datetime:
    """A front-matter date or date-time (YAML value or ISO string)."""
    value = metadata.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ParseError(f"{where}: front matter {key!r} is missing or not an ISO date/time: {value!r}")


def _slug(resource_name: str | None, title: str | None, start_utc: datetime) -> str:
    if resource_name:
        name = re.sub(r"\.(md|markdown)$", "", PurePosixPath(resource_name).name, flags=re.IGNORECASE)
        return _SLUG_JUNK.sub("-", name).strip("-").lower()
    return hashlib.sha256(f"{title or ''}\n{start_utc.isoformat()}".encode()).hexdigest()[:16]


def _original_tzid(start: date | datetime) -> str | None:
    if isinstance(start, datetime) and start.utcoffset() == timedelta(0):
        return "UTC"
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = re.sub(r"\n{3,}", "\n\n", str(value)).strip()
    return text or None
