"""File collection: a local file (or a glob of them), copied chunk by chunk (``observatory.collect.spool``)."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from observatory.collect import Fetched
from observatory.collect.spool import spooled

CHUNK_BYTES = 1024 * 1024


def collect(source) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """The files matched by the source's ``paths`` globs."""
    for path in source.resolved_paths():
        yield str(path), partial(read_file, path, source.project_root)


def read_file(path: Path, project_root: Path) -> Fetched:
    """The file as a fetched body; its resource is the path relative to ``project_root`` when it is inside."""
    resource = str(path.relative_to(project_root)) if path.is_relative_to(project_root) else str(path)
    with path.open("rb") as file:
        body = spooled(iter(partial(file.read, CHUNK_BYTES), b""))
    return Fetched(
        resource=resource,
        resource_name=path.name,
        body=body,
        media_type=mimetypes.guess_type(path.name)[0],
    )
