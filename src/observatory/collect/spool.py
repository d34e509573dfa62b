"""Fetched bodies on disk: written chunk by chunk to a temporary file while their SHA-256 and size are computed, so
that no body is ever held in memory, then moved into the landing zone whole (``Body.keep_at``).

The pipeline spools into its landing zone's partial directory (``spooling_into``), on the same file system as the
content paths, so keeping a body is one rename; elsewhere (a collector called on its own, not landing what it
fetches) bodies go to the system's temporary directory. A spooled body that is dropped without being kept is
deleted; a download that fails or is killed half-way leaves at most a temporary file there, never a file at a
content path. A collector may also hand on a small body it holds in memory (``BytesBody``)."""

from __future__ import annotations

import hashlib
import os
import tempfile
import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

_directory: ContextVar[Path | None] = ContextVar("spool_directory", default=None)


@contextmanager
def spooling_into(directory: Path) -> Iterator[None]:
    """Spool the bodies fetched in this context into ``directory``."""
    token = _directory.set(directory)
    try:
        yield
    finally:
        _directory.reset(token)


class Body(ABC):
    """A fetched body, with its SHA-256 (hex) and size in bytes."""

    sha256: str
    size: int

    @abstractmethod
    def read_bytes(self) -> bytes:
        """The whole body, in memory."""

    @abstractmethod
    def keep_at(self, target: Path) -> None:
        """Make it the read-only file ``target``, unless a file is there already (same name: same content)."""


class BytesBody(Body):
    """A small body a collector holds in memory (e.g. a page it read back from the landing zone)."""

    def __init__(self, data: bytes) -> None:
        self._data, self.sha256, self.size = data, hashlib.sha256(data).hexdigest(), len(data)

    def read_bytes(self) -> bytes:
        return self._data

    def keep_at(self, target: Path) -> None:
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
                tmp.write(self._data)
            os.chmod(tmp.name, 0o444)
            os.replace(tmp.name, target)


class SpooledBody(Body):
    """A body in a file (``spooled``). Until it is kept, the file is temporary and is deleted when the body is
    garbage-collected (or at exit); once kept, the body is read from where it was kept."""

    def __init__(self, path: Path, sha256: str, size: int) -> None:
        self.path, self.sha256, self.size = path, sha256, size
        self._discard = weakref.finalize(self, _remove, path)

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    def keep_at(self, target: Path) -> None:
        """Move the file to ``target`` (one rename: it was spooled on the target's file system), or drop it when
        ``target`` is there already."""
        if target.exists():
            self._discard()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self.path, 0o444)
            os.replace(self.path, target)
            self._discard.detach()
        self.path = target


def spooled(chunks: Iterable[bytes]) -> SpooledBody:
    """The ``chunks`` written to a new temporary file while hashed; the file is removed when ``chunks`` raises."""
    directory = _directory.get() or Path(tempfile.gettempdir())
    directory.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(dir=directory, prefix="body-", suffix=".partial")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(descriptor, "wb") as file:
            for chunk in chunks:
                digest.update(chunk)
                file.write(chunk)
                size += len(chunk)
    except BaseException:
        os.unlink(name)
        raise
    return SpooledBody(Path(name), digest.hexdigest(), size)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
