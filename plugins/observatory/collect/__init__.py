"""Getting bytes: every collector returns ``Fetched`` resources, which the landing zone stores as they are."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial


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
    """Each resource of one registry source as (resource, fetch function): HTTP or local files.

    The caller fetches them one by one, so that what was fetched is landed before the next may fail."""
    if source.urls:
        from observatory.collect.http import fetch_url, http_session

        with http_session() as session:
            for url in source.resolved_urls():
                yield url, partial(fetch_url, session, url)
    else:
        from observatory.collect.files import read_file

        for path in source.resolved_paths():
            yield str(path), partial(read_file, path)
