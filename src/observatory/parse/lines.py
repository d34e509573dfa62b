"""A UTF-8 text file read line by line from a binary stream, as the line-oriented parsers read a landed file.

Lines end with LF, CRLF or CR and read as if the whole text were decoded and read with universal newlines (each
ending as ``\\n``, a BOM at the start dropped), but only a block of about ``BLOCK_BYTES`` is in memory at a time.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from typing import IO, TypeVar

T = TypeVar("T")

BLOCK_BYTES = 256 * 1024  # decoded at once (and completed to the end of its last line)

InvalidLine = Callable[[int, int], None]  # (line number, position of its first invalid byte) of a line not UTF-8


def utf8_lines(stream: IO[bytes], on_invalid: InvalidLine) -> Iterator[str]:
    """The lines of ``stream``, from where it is to its end. Before a line that is not UTF-8 is yielded (decoded with
    U+FFFD for the invalid bytes), ``on_invalid`` is called with its number (1 for the first line) and the position of
    its first invalid byte, counted like ``bytes.decode("utf-8-sig")`` counts it (after the BOM)."""
    number = offset = 0
    while block := stream.read(BLOCK_BYTES):
        if not block.endswith(b"\n"):
            block += stream.readline()
        if offset == number == 0 and block.startswith(codecs.BOM_UTF8):
            block = block[len(codecs.BOM_UTF8) :]
        try:
            lines = io.StringIO(block.decode("utf-8"), newline=None).readlines()
        except UnicodeDecodeError:
            for raw in block.splitlines(keepends=True):
                number += 1
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    on_invalid(number, offset + exc.start)
                    text = raw.decode("utf-8", "replace")
                yield text[:-2] + "\n" if text.endswith("\r\n") else text[:-1] + "\n" if text.endswith("\r") else text
                offset += len(raw)
            continue
        number += len(lines)
        offset += len(block)
        yield from lines


def closing_after(items: Iterator[T], stream: IO[bytes]) -> Iterator[T]:
    """``items``, closing ``stream`` (which they are read from) when they are done or dropped (garbage-collected)."""
    with stream:
        yield from items
