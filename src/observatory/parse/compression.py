"""Compressed payloads, recognised by their content: a gzip stream starts with the magic bytes ``1f 8b``.

Eurostat's ``compressed=true`` downloads are gzip without a ``Content-Encoding`` header, so the HTTP layer hands
the compressed bytes on as they are; a parser (or the pipeline, for every format) calls ``decompressed`` first.
The decompressed size is capped like a download (``OBSERVATORY_MAX_DOWNLOAD_BYTES``, see
``observatory.collect.http.max_bytes``), so a small compression bomb cannot fill a worker's memory.
"""

from __future__ import annotations

import zlib

from observatory.collect.http import max_bytes
from observatory.parse import ParseError

GZIP_MAGIC = b"\x1f\x8b"
INPUT_CHUNK = 64 * 1024  # compressed bytes fed per step, so each unconsumed tail stays small
OUTPUT_CHUNK = 1024 * 1024  # decompressed bytes produced per step, so the cap is checked as the output grows


def decompressed(payload: bytes, limit: int | None = None) -> bytes:
    """``payload`` gunzipped when it is gzip (every member of a multi-member stream), else ``payload`` itself.

    Raises ``ParseError`` when the stream decompresses to more than ``limit`` bytes (default: the download cap,
    ``observatory.collect.http.max_bytes()``), is corrupt or truncated, or is followed by bytes that are neither
    another gzip member nor zero padding."""
    if not payload.startswith(GZIP_MAGIC):
        return payload
    cap = max_bytes() if limit is None else limit
    out: list[bytes] = []
    rest = payload
    try:
        while rest.startswith(GZIP_MAGIC):
            rest = _inflate_member(rest, cap, out)
    except zlib.error as exc:
        raise ParseError(f"gzip payload is corrupt after {sum(map(len, out))} decompressed bytes: {exc}") from None
    if rest.strip(b"\x00"):
        raise ParseError(f"gzip payload: the {len(rest)} bytes after the end of the stream are not gzip")
    return b"".join(out)


def _inflate_member(member: bytes, cap: int, out: list[bytes]) -> bytes:
    """Inflate one gzip member of ``member`` onto ``out`` within ``cap`` in all; return the bytes after it."""
    stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
    size = sum(map(len, out))
    view = memoryview(member)
    for start in range(0, len(view), INPUT_CHUNK):
        data: bytes | memoryview = view[start : start + INPUT_CHUNK]
        while data:
            piece = stream.decompress(data, OUTPUT_CHUNK)
            size += len(piece)
            if size > cap:
                raise ParseError(f"gzip payload decompresses to more than {cap} bytes")
            out.append(piece)
            if stream.eof:
                return stream.unused_data + bytes(view[start + INPUT_CHUNK :])
            data = stream.unconsumed_tail
    tail = stream.flush()  # all input consumed: at most a few bytes of a pending match are left
    if size + len(tail) > cap:
        raise ParseError(f"gzip payload decompresses to more than {cap} bytes")
    out.append(tail)
    if not stream.eof:
        raise ParseError(f"gzip payload is truncated after {size + len(tail)} decompressed bytes")
    return b""
