"""The nesting cap of JSON payloads: a document nested deeper than ``MAX_JSON_DEPTH`` arrays and objects is refused
before any parser reads it, with a clear reason, instead of exhausting Python's recursion limit (the standard
library's decoder raises ``RecursionError`` near 1000 levels) or orjson's own (1024), or every recursive walk of
the document after it. JSON-stat, funding JSON and SODA pages are a few levels deep (a JSON-stat dataset: 5)."""

from __future__ import annotations

import re

import numpy as np

MAX_JSON_DEPTH = 64
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))


def json_depth(data: bytes) -> int:
    """How deep the arrays and objects of the JSON text ``data`` nest (brackets inside strings do not count)."""
    brackets = np.frombuffer(_STRING.sub(b"", data).translate(None, _NOT_BRACKETS), dtype=np.uint8)
    if not brackets.size:
        return 0
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def json_depth_problem(data: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``data`` is refused for its nesting, or None (at once when it has too few brackets to nest that deep)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return None
    depth = json_depth(data)
    return f"JSON nested {depth} levels deep, deeper than the cap of {limit}" if depth > limit else None
