"""Compressed payloads, recognised by their content: a gzip stream starts with the magic bytes ``1f 8b``.

Eurostat's ``compressed=true`` downloads are gzip without a ``Content-Encoding`` header, so the HTTP layer hands
the compressed bytes on as they are; the parsers gunzip what they read: a stream as it is read (``open_decompressed``,
for a landed file), bytes at once (``decompressed``). The decompressed size is capped like a download
(``OBSERVATORY_MAX_DOWNLOAD_BYTES``, see ``observatory.collect.http.max_bytes``), so a small compression bomb cannot
fill a worker's memory or disk; a stream raises the ``ParseError`` when it gets there.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from observatory.collect.http import max_bytes
from observatory.parse import ParseError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

GZIP_MAGIC = b"\x1f\x8b"
INPUT_CHUNK = 64 * 1024  # compressed bytes fed per step, so each unconsumed tail stays small
OUTPUT_CHUNK = 1024 * 1024  # decompressed bytes produced per step, so the cap is checked as the output grows

Opener = Callable[[], BinaryIO]  # each call: a new stream of a payload's decompressed bytes, from its start


def decompressed(payload: bytes, limit: int | None = None) -> bytes:
    """``payload`` gunzipped when it is gzip (every member of a multi-member stream), else ``payload`` itself.

    Raises ``ParseError`` when the stream decompresses to more than ``limit`` bytes (default: the download cap,
    ``observatory.collect.http.max_bytes()``), is corrupt or truncated, or is followed by bytes that are neither
    another gzip member nor zero padding."""
    if not payload.startswith(GZIP_MAGIC):
        return payload
    with open_decompressed(io.BytesIO(payload), limit) as stream:
        return stream.read()


def open_decompressed(file: BinaryIO, limit: int | None = None) -> BinaryIO:
    """``file`` (seekable) read on from where it is, gunzipped as it is read when it starts with the gzip magic
    bytes, else as it is. Reading raises the ``ParseError``s of ``decompressed``; closing closes ``file``."""
    start = file.read(len(GZIP_MAGIC))
    file.seek(-len(start), io.SEEK_CUR)
    if start != GZIP_MAGIC:
        return file
    return io.BufferedReader(_Gunzip(file, max_bytes() if limit is None else limit), INPUT_CHUNK)


def file_opener(path: Path) -> Opener:
    """Streams of the file at ``path``, gunzipped as they are read when it is gzip."""
    return lambda: open_decompressed(path.open("rb"))


def payload_opener(payload: bytes) -> Opener:
    """Streams of ``payload``, gunzipped at once (so a broken gzip payload raises here)."""
    data = decompressed(payload)
    return lambda: io.BytesIO(data)


class _Gunzip(io.RawIOBase):
    """The decompressed bytes of the gzip stream in ``source``: every member, within ``cap`` bytes in all, then
    nothing but zero padding."""

    def __init__(self, source: BinaryIO, cap: int) -> None:
        self._source, self._cap = source, cap
        self._member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._input = b""  # compressed bytes read but not yet inflated
        self._size = 0  # decompressed bytes so far
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        piece = self._inflate(len(view)) if len(view) else b""
        view[: len(piece)] = piece
        return len(piece)

    def readall(self) -> bytes:
        pieces = []
        while piece := self._inflate(OUTPUT_CHUNK):
            pieces.append(piece)
        return b"".join(pieces)

    def close(self) -> None:
        self._source.close()
        super().close()

    def _inflate(self, most: int) -> bytes:
        """Up to ``most`` more decompressed bytes; b"" at the end of the stream."""
        while not self._ended:
            if self._member.eof:
                self._next_member()
                continue
            if not self._input:
                self._input = self._source.read(INPUT_CHUNK)
                if not self._input:
                    return self._flush()
            try:
                piece = self._member.decompress(self._input, min(most, OUTPUT_CHUNK))
            except zlib.error as exc:
                raise ParseError(f"gzip payload is corrupt after {self._size} decompressed bytes: {exc}") from None
            self._input = self._member.unconsumed_tail
            self._count(piece)
            if piece:
                return piece
        return b""

    def _flush(self) -> bytes:
        """All input read: what the member still holds; ``ParseError`` when the member did not end."""
        try:
            tail = self._member.flush()
        except zlib.error as exc:
            raise ParseError(f"gzip payload is corrupt after {self._size} decompressed bytes: {exc}") from None
        self._count(tail)
        if not self._member.eof:
            raise ParseError(f"gzip payload is truncated after {self._size} decompressed bytes")
        return tail

    def _next_member(self) -> None:
        """After a member: start the next one, or end (``ParseError`` if anything but zero padding follows)."""
        rest = self._member.unused_data + self._input
        while len(rest) < len(GZIP_MAGIC) and (more := self._source.read(INPUT_CHUNK)):
            rest += more
        if rest.startswith(GZIP_MAGIC):
            self._member, self._input = zlib.decompressobj(16 + zlib.MAX_WBITS), rest
            return
        self._ended = True
        size, padding = len(rest), not rest.strip(b"\x00")
        while more := self._source.read(INPUT_CHUNK):
            size, padding = size + len(more), padding and not more.strip(b"\x00")
        if not padding:
            raise ParseError(f"gzip payload: the {size} bytes after the end of the stream are not gzip")

    def _count(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self._cap:
            raise ParseError(f"gzip payload decompresses to more than {self._cap} bytes")
