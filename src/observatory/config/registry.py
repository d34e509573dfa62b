"""The source registry: ``sources.yml`` read into typed, validated objects.

An analyst adds a source of a known format by adding an entry; nothing else in Python changes.
``${VAR}`` and ``${VAR:-default}`` in string values are replaced from the environment when a source is
*used* (``Source.resolved_urls``), so reading the registry at DAG-parse time needs no environment.

Every entry belongs to one or more *profiles* (field ``profiles``): ``demo`` entries read the bundled sample data,
``live`` entries fetch from the publishers. The setting ``OBSERVATORY_REGISTRY_PROFILE`` (``Settings.registry_profile``,
default ``demo``) selects the entries a deployment collects; ``load_registry(profile=ALL_PROFILES)`` reads them all.
An entry with ``sample: true`` reads a file written for the project: its figures are marked as sample in the marts.

Names that become SQL identifiers or file names (the source id, which names stage and quarantine tables and the
landing directory; the suite) must be lower-case letters, digits and ``_``: an entry named like an injection
(``x"; drop table raw.y; --``) is refused here, before anything runs. Where an entry's requests may go
(``observatory.collect.http.FetchGuard``): ``urls`` are HTTP(S) (literally, or an ``${VAR}`` reference checked
when fetched), redirects stay on their hosts and those in ``allowed_hosts``, and only public addresses are
connected to unless ``allow_private_network: true`` (a URL on ``localhost`` or a non-public address literal, as
the demo's sample server, is allowed as configured); ``download_deadline_seconds`` replaces
``OBSERVATORY_DOWNLOAD_DEADLINE`` for the entry, and ``max_download_bytes`` ``OBSERVATORY_MAX_DOWNLOAD_BYTES``
(a full Eurostat dataset decodes to gigabytes; the cap also bounds what its gzip may inflate to when parsed).
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from observatory.config.settings import Settings
from observatory.parse import FORMATS

KINDS = ("indicators", "reports", "events", "funding")
PROFILES = ("demo", "live")
ALL_PROFILES = "all"
# The share of a batch's records a parser may reject before the batch is quarantined, per kind unless the entry
# sets ``max_rejected_share``: strict for statistics (a cube with an unreadable cell is a broken download), some
# tolerance for the lists and feeds that publishers write by hand (one odd event or beneficiary is normal).
DEFAULT_MAX_REJECTED_SHARE = {"indicators": 0.0, "reports": 0.0, "events": 0.05, "funding": 0.05}
SOURCE_ID = re.compile(r"[a-z][a-z0-9_]{1,42}")  # matched whole (``fullmatch``: no trailing newline)
SUITE = re.compile(r"[a-z][a-z0-9_]{0,62}")
HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|\[[0-9a-f:.]+\]")
URL_START = re.compile(r"https?://|\$\{", re.IGNORECASE)
ENV_REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}")


class RegistryError(ValueError):
    """The registry has an invalid entry; the message names the entry and the field."""


@dataclass(frozen=True)
class Freshness:
    warn_after_hours: int
    error_after_hours: int


@dataclass(frozen=True)
class Source:
    source_id: str
    kind: str
    format: str
    description: str
    publisher: str
    licence: str
    owner: str
    schedule: str
    retries: int
    retry_delay: timedelta
    suite: str
    freshness: Freshness
    urls: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    parse: dict[str, Any] = field(default_factory=dict)
    collector: str = "http"
    collect: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    max_rejected_share: float = 0.0
    profiles: tuple[str, ...] = ("demo",)
    sample: bool = False  # the entry reads a file written for the project, not a publisher's
    allowed_hosts: tuple[str, ...] = ()  # hosts redirects may go to besides those of the entry's URLs
    allow_private_network: bool = False  # may connect to loopback, private and link-local addresses
    download_deadline_seconds: float | None = None  # for one whole response (default OBSERVATORY_DOWNLOAD_DEADLINE)
    max_download_bytes: int | None = None  # decoded bytes of one download (default OBSERVATORY_MAX_DOWNLOAD_BYTES)
    project_root: Path = field(default=Path("."), compare=False, repr=False)  # relative ``paths`` start here

    @property
    def raw_table(self) -> str:
        return FORMATS[self.format]

    @property
    def asset_name(self) -> str:
        """The Airflow asset that the collection DAG updates when it publishes a batch."""
        return f"observatory.raw.{self.source_id}"

    def resolved_urls(self) -> list[str]:
        return [expand_env(url, where=f"{self.source_id}.urls") for url in self.urls]

    def resolved_paths(self) -> list[Path]:
        """Local files named by ``paths`` (globs, relative to the project root), sorted."""
        found: list[Path] = []
        for pattern in self.paths:
            pattern = expand_env(pattern, where=f"{self.source_id}.paths")
            base = Path(pattern) if Path(pattern).is_absolute() else self.project_root / pattern
            matches = sorted(base.parent.glob(base.name))
            if not matches:
                raise RegistryError(f"source {self.source_id!r}: paths pattern {pattern!r} matches no file")
            found.extend(matches)
        return found


@dataclass(frozen=True)
class Registry:
    sources: dict[str, Source]
    profile: str = ALL_PROFILES

    def __getitem__(self, source_id: str) -> Source:
        try:
            return self.sources[source_id]
        except KeyError:
            where = "the registry" if self.profile == ALL_PROFILES else f"the registry's profile {self.profile!r}"
            raise RegistryError(f"no source {source_id!r} in {where}") from None

    def of_kind(self, kind: str) -> list[Source]:
        return [source for source in self.sources.values() if source.kind == kind]


def expand_env(value: str, *, where: str) -> str:
    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        raise RegistryError(f"{where}: environment variable {name} is not set")

    return ENV_REFERENCE.sub(replace, value)


def load_registry(path: Path | None = None, settings: Settings | None = None, profile: str | None = None) -> Registry:
    """Read and validate the registry file (``path``, else the settings' registry): the entries of ``profile``
    (else the settings' profile; ``ALL_PROFILES`` for every entry)."""
    settings = settings or Settings.from_env()
    path = path or settings.registry_path
    profile = profile or settings.registry_profile
    if profile not in (*PROFILES, ALL_PROFILES):
        raise RegistryError(f"unknown registry profile {profile!r}; known: {', '.join(PROFILES)}")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    defaults = document.get("defaults", {})
    entries = document.get("sources")
    if not isinstance(entries, dict) or not entries:
        raise RegistryError(f"{path}: 'sources' must be a non-empty mapping of source_id to entry")
    sources = {
        source_id: _source(source_id, entry, defaults, settings.project_root) for source_id, entry in entries.items()
    }
    return Registry(
        {
            source_id: source
            for source_id, source in sources.items()
            if profile == ALL_PROFILES or profile in source.profiles
        },
        profile,
    )


def _source(source_id: str, entry: Any, defaults: dict[str, Any], project_root: Path) -> Source:
    def fail(field_name: str, problem: str) -> RegistryError:
        return RegistryError(f"source {source_id!r}, field {field_name!r}: {problem}")

    if not isinstance(source_id, str) or not SOURCE_ID.fullmatch(source_id):
        raise fail("source_id", "must be lower-case letters, digits and '_' (2-43 characters), starting with a letter")
    if not isinstance(entry, dict):
        raise fail("(entry)", "must be a mapping")
    if "source_id" in entry and entry["source_id"] != source_id:
        raise fail("source_id", "if given, must be the entry's key")
    merged = {**defaults, **entry}
    unknown = set(entry) - (set(Source.__dataclass_fields__) - {"project_root"}) - {"retry_delay_minutes", "source_id"}
    if unknown:
        raise fail(sorted(unknown)[0], "unknown field")
    for required in ("kind", "format", "description", "publisher", "suite"):
        if not merged.get(required):
            raise fail(required, "is required")
    if merged["kind"] not in KINDS:
        raise fail("kind", f"must be one of {', '.join(KINDS)}")
    if merged["format"] not in FORMATS:
        raise fail("format", f"unknown format; known: {', '.join(sorted(FORMATS))}")
    if not isinstance(merged["suite"], str) or not SUITE.fullmatch(merged["suite"]):
        raise fail("suite", "must be lower-case letters, digits and '_' (the name of expectations/<suite>.json)")
    urls, paths = tuple(merged.get("urls") or ()), tuple(merged.get("paths") or ())
    for url in urls:
        if not isinstance(url, str) or not URL_START.match(url):
            raise fail("urls", f"{url!r} is not an http(s) URL (nor starts with an ${{VAR}} reference)")
    collector = merged.get("collector") or ("files" if paths else "http")
    if not re.match(r"^[a-z_]+$", collector) or importlib.util.find_spec(f"observatory.collect.{collector}") is None:
        raise fail("collector", f"no collector module observatory.collect.{collector}")
    if collector in ("http", "files") and bool(urls) == bool(paths):
        raise fail("urls", "give exactly one of 'urls' (HTTP) or 'paths' (local files)")
    freshness = merged.get("freshness") or {}
    try:
        fresh = Freshness(int(freshness["warn_after_hours"]), int(freshness["error_after_hours"]))
    except (KeyError, TypeError, ValueError):
        raise fail("freshness", "needs integer warn_after_hours and error_after_hours") from None
    if not 0 < fresh.warn_after_hours < fresh.error_after_hours:
        raise fail("freshness", "needs 0 < warn_after_hours < error_after_hours")
    try:
        max_rejected_share = float(merged.get("max_rejected_share", DEFAULT_MAX_REJECTED_SHARE[merged["kind"]]))
    except (TypeError, ValueError):
        raise fail("max_rejected_share", "must be a number between 0 and 1") from None
    if not 0 <= max_rejected_share <= 1:
        raise fail("max_rejected_share", "must be a number between 0 and 1")
    profiles = merged.get("profiles", ["demo"])
    if not isinstance(profiles, list) or not profiles or not set(profiles) <= set(PROFILES):
        raise fail("profiles", f"must be a non-empty list of {', '.join(PROFILES)}")
    if not isinstance(merged.get("sample", False), bool):
        raise fail("sample", "must be true or false")
    if merged.get("sample") and merged["kind"] == "reports":  # the marts read report mentions as published texts
        raise fail("sample", "a reports entry reads published documents; it cannot be a sample")
    allowed_hosts = merged.get("allowed_hosts") or []
    if not isinstance(allowed_hosts, list) or not all(
        isinstance(host, str) and HOST.fullmatch(host.lower()) for host in allowed_hosts
    ):
        raise fail("allowed_hosts", "must be a list of host names (no scheme, port or path)")
    if not isinstance(merged.get("allow_private_network", False), bool):
        raise fail("allow_private_network", "must be true or false")
    deadline = merged.get("download_deadline_seconds")
    if deadline is not None and (isinstance(deadline, bool) or not isinstance(deadline, int | float) or deadline <= 0):
        raise fail("download_deadline_seconds", "must be a positive number of seconds")
    cap = merged.get("max_download_bytes")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0):
        raise fail("max_download_bytes", "must be a positive whole number of bytes")
    return Source(
        source_id=source_id,
        kind=merged["kind"],
        format=merged["format"],
        description=str(merged["description"]).strip(),
        publisher=merged["publisher"],
        licence=merged.get("licence", "unknown"),
        owner=merged.get("owner", "data-engineering"),
        schedule=merged.get("schedule", "@daily"),
        retries=int(merged.get("retries", 3)),
        retry_delay=timedelta(minutes=float(merged.get("retry_delay_minutes", 2))),
        suite=merged["suite"],
        freshness=fresh,
        urls=urls,
        paths=paths,
        parse=dict(merged.get("parse") or {}),
        collector=collector,
        collect=dict(merged.get("collect") or {}),
        tags=tuple(merged.get("tags") or ()),
        max_rejected_share=max_rejected_share,
        profiles=tuple(profiles),
        sample=merged.get("sample", False),
        allowed_hosts=tuple(host.lower().strip("[]") for host in allowed_hosts),
        allow_private_network=merged.get("allow_private_network", False),
        download_deadline_seconds=None if deadline is None else float(deadline),
        max_download_bytes=cap,
        project_root=project_root,
    )
