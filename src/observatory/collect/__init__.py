"""Getting bytes. A collector is a module ``observatory.collect.<name>`` with

    def collect(source: Source) -> Iterator[tuple[str, Callable[[], Fetched]]]

yielding each resource of the source (its URL or path, and a function that fetches it), so the caller lands
what was fetched before the next resource may fail. The registry's ``collector`` field names the module
(default: ``http`` for ``urls``, ``files`` for ``paths``); its ``collect`` mapping holds the collector's options.

A ``Fetched`` carries its body: as a file the download was written to (``observatory.collect.spool``), never whole
in memory, or as small bytes a collector holds; ``payload`` reads it for the small answers a collector looks into
(a feed, a page, an asynchronous envelope).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from observatory.collect.spool import Body, BytesBody


@dataclass(frozen=True, init=False)
class Fetched:
    """One fetched resource: its body (``payload`` bytes in memory, or a ``body`` such as a spooled file) and what
    the answer said about it."""

    resource: str  # the URL or the project-relative path it came from
    resource_name: str  # last path segment, for parsers that need a hint (never used as a file name)
    body: Body
    media_type: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None

    def __init__(
        self,
        resource: str,
        resource_name: str,
        payload: bytes | None = None,
        media_type: str | None = None,
        http_status: int | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        *,
        body: Body | None = None,
    ) -> None:
        if body is None:
            if payload is None:
                raise TypeError("Fetched needs a payload or a body")
            body = BytesBody(payload)
        elif payload is not None:
            raise TypeError("Fetched needs a payload or a body, not both")
        fields = {
            "resource": resource,
            "resource_name": resource_name,
            "body": body,
            "media_type": media_type,
            "http_status": http_status,
            "etag": etag,
            "last_modified": last_modified,
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    @property
    def payload(self) -> bytes:
        """The whole body, in memory (for small answers: a feed, a page, an envelope; landing streams ``body``)."""
        return self.body.read_bytes()


def collect_source(source, load_id: str | None = None) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """Each resource of one registry source as (resource, fetch function), from the source's collector; a
    ``RESUMABLE`` collector also gets the batch's ``load_id``, so a rerun of a killed batch goes on from the first
    resource it had not landed (``observatory.collect.paged``)."""
    module = importlib.import_module(f"observatory.collect.{source.collector}")
    if load_id is not None and getattr(module, "RESUMABLE", False):
        return module.collect(source, load_id=load_id)
    return module.collect(source)


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
