"""File collection: a local file (or a glob of them), read as bytes."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from observatory.collect import Fetched
from observatory.config.settings import PROJECT_ROOT


def collect(source) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """The files matched by the source's ``paths`` globs."""
    for path in source.resolved_paths():
        yield str(path), partial(read_file, path)


def read_file(path: Path) -> Fetched:
    resource = str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)
    return Fetched(
        resource=resource,
        resource_name=path.name,
        payload=path.read_bytes(),
        media_type=mimetypes.guess_type(path.name)[0],
    )
