"""``observatory extract PATH [PATH ...]``: facts of each file as JSON Lines on stdout.

``.txt`` and ``.md`` files are read as UTF-8 (offsets point into the file); other formats (HTML, PDF)
go through ``observatory.parse.document.read_document`` (offsets point into its ``body_text``). A
file that cannot be read gives one error line on stderr and a non-zero exit; the other files are
still done.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

import orjson

from observatory.extract.pipeline import extract_facts
from observatory.parse.document import read_document

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text"})


class UnreadableFile(Exception):
    """The file's text could not be obtained."""


def read_text(path: str) -> str:
    """The text of the file at ``path``."""
    file = Path(path)
    try:
        payload = file.read_bytes()
    except OSError as exc:
        raise UnreadableFile(exc.strerror or str(exc)) from exc
    if file.suffix.lower() in TEXT_SUFFIXES:
        try:
            return payload.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnreadableFile(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        return read_document(payload, {"resource_name": file.name}).body_text
    except ValueError as exc:  # ParseError is a ValueError
        raise UnreadableFile(str(exc)) from exc


def run(paths: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Extract facts from each of ``paths``; the exit code is 0 when every file could be read, else 1.

    ``out`` and ``err`` default to ``sys.stdout`` and ``sys.stderr`` as they are at call time.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    if not paths:
        err.write("usage: observatory extract PATH [PATH ...]\n")
        return 2
    status = 0
    for path in paths:
        try:
            text = read_text(path)
        except UnreadableFile as exc:
            err.write(f"observatory extract: cannot read {path}: {exc}\n")
            status = 1
            continue
        try:
            out.writelines(orjson.dumps(fact.to_record(path)).decode("utf-8") + "\n" for fact in extract_facts(text))
            out.flush()
        except BrokenPipeError:  # the reader has gone (``| head``): stop quietly
            if out is sys.stdout:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m observatory.extract.cli PATH ...``."""
    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
