"""File collection: a local file (or a glob of them), read as bytes."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from observatory.collect import Fetched


def collect(source) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """The files matched by the source's ``paths`` globs."""
    for path in source.resolved_paths():
        yield str(path), partial(read_file, path, source.project_root)


def read_file(path: Path, project_root: Path) -> Fetched:
    """The file as fetched bytes; its resource is the path relative to ``project_root`` when it is inside."""
    resource = str(path.relative_to(project_root)) if path.is_relative_to(project_root) else str(path)
    return Fetched(
        resource=resource,
        resource_name=path.name,
        payload=path.read_bytes(),
        media_type=mimetypes.guess_type(path.name)[0],
    )
