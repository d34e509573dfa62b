"""Getting bytes. A collector is a module ``observatory.collect.<name>`` with

    def collect(source: Source) -> Iterator[tuple[str, Callable[[], Fetched]]]

yielding each resource of the source (its URL or path, and a function that fetches it), so the caller lands
what was fetched before the next resource may fail. The registry's ``collector`` field names the module
(default: ``http`` for ``urls``, ``files`` for ``paths``); its ``collect`` mapping holds the collector's options.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Fetched:
    resource: str  # the URL or the project-relative path it came from
    resource_name: str  # last path segment, for parsers that need a hint (never used as a file name)
    payload: bytes
    media_type: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None


def collect_source(source) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """Each resource of one registry source as (resource, fetch function), from the source's collector."""
    return importlib.import_module(f"observatory.collect.{source.collector}").collect(source)


def planned_resources(source) -> tuple[list[str], str | None]:
    """The resources a collection of the source starts with, without fetching anything, and what it goes on to
    fetch when that depends on the answers (a collector's ``FOLLOWS``, e.g. the next pages), else None."""
    module = importlib.import_module(f"observatory.collect.{source.collector}")
    follows = getattr(module, "FOLLOWS", None)
    resources = []
    for resource, _ in module.collect(source):
        resources.append(resource)
        if follows:
            break
    return resources, follows
