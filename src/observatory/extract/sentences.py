"""Splitting (masked) text into sentences: prose sentences, headings, bullet items and table rows.

Every non-blank line starts a new unit unless it continues the previous line (it starts with a
lower-case letter and the previous line is not a heading, bullet or table row ending a sentence);
units are then split after ``.``, ``!`` or ``?`` followed by a capital or digit, except after
common abbreviations and initials.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"[^\n]*\n?")
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]*]*\s+(?=[\"'“‘(\[*]*[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "cf",
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "no",
        "nr",
        "art",
        "fig",
        "approx",
        "incl",
        "ca",
        "dept",
        "govt",
        "jr",
        "sr",
        "vol",
    ]
)
_LAST_WORD = re.compile(r"([\w.]+)\.$")
_STRUCTURED = re.compile(r"\s*(?:#|\||[-*•+✓]\s|\d+[.)]\s)")


def _is_continuation(previous: str, line: str) -> bool:
    stripped = line.lstrip()
    if not stripped or not stripped[0].islower():
        return False
    return not re.search(r"[.!?:]\s*$", previous)


def _split_unit(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        head = text[cursor : match.start() + 1]
        word = _LAST_WORD.search(head)
        if word and (word.group(1).lower() in _ABBREVIATIONS or re.fullmatch(r"[A-Z]", word.group(1))):
            continue
        spans.append((cursor, match.start() + 1))
        cursor = match.end()
    spans.append((cursor, end))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in ``text``, in order, whitespace trimmed."""
    units: list[list[int]] = []
    previous = ""
    for match in _LINE.finditer(text):
        line = match.group()
        if not line:
            break
        if not line.strip():
            previous = ""
            continue
        if units and previous and _is_continuation(previous, line) and not _STRUCTURED.match(line):
            units[-1][1] = match.end()
        else:
            units.append([match.start(), match.end()])
        previous = line
    sentences: list[tuple[int, int]] = []
    for start, end in units:
        for span in _split_unit(text, start, end):
            trimmed = _trim(text, *span)
            if trimmed[0] < trimmed[1]:
                sentences.append(trimmed)
    return sentences
