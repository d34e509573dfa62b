"""Counts of things: "180 delegates", "more than 45 city representatives", "ten action areas".

A count is a whole number from two up (digits or words, with an optional scale word: "2.5 million
people") followed by at most four words ending in a plural noun: ``unit`` is those words ("city
representatives"), ``value`` the number, ``qualifier`` a preceding "more than", "at least", "minimum",
"estimated", ... (else null).
Not counts: durations ("two years", "two-day"), ordinals ("8th"), list numbers ("1. ..."), numbers
inside dates, money or shares, and numbers that end a name ("Cities and Migrants 3 report").
"""

from __future__ import annotations

import re
from decimal import Decimal

from observatory.extract.dates import WEEKDAYS
from observatory.extract.document import Document
from observatory.extract.facts import Fact, make_fact, overlaps
from observatory.extract.numbers import (
    NUMBER,
    SCALE,
    WORD_NUMBER,
    is_plural,
    json_number,
    parse_number,
    qualifier_before,
    scale_value,
    word_value,
)

_NUMBER = re.compile(
    rf"(?<![\w.,:/#§-])(?:(?P<num>{NUMBER})|(?P<word>(?i:{WORD_NUMBER})))(?:\s+(?P<scale>(?i:{SCALE})))?"
    r"(?![\w%:-]|[.,]\d)"
)
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|[’'-])*")
_ORDINAL_NEXT = re.compile(r"\s*(?:st|nd|rd|th)\b")
_LIST_PREFIX = re.compile(r"[ \t]*(?:[-*•#]+[ \t]*)?")
_WEEKDAY_BEFORE = re.compile(rf"\b(?:{'|'.join(WEEKDAYS)})\.?\s+$", re.IGNORECASE)
_WORD_BEFORE = re.compile(r"([A-Za-z][\w'’-]*) $")
_STOP = frozenset(
    [
        "of",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "to",
        "for",
        "and",
        "or",
        "but",
        "the",
        "a",
        "an",
        "that",
        "which",
        "who",
        "is",
        "are",
        "was",
        "were",
        "will",
        "be",
        "been",
        "has",
        "have",
        "had",
        "per",
        "than",
        "as",
        "into",
        "under",
        "over",
        "about",
        "between",
        "during",
    ]
)
_NOT_COUNTED = frozenset(
    [
        "seconds",
        "minutes",
        "hours",
        "days",
        "nights",
        "weeks",
        "months",
        "years",
        "decades",
        "centuries",
        "times",
        "euros",
        "dollars",
        "pounds",
        "percent",
        "kilometres",
        "kilometers",
        "km",
        "metres",
        "meters",
        "miles",
        "kilograms",
        "kilos",
        "tonnes",
        "tons",
        "litres",
        "liters",
        "degrees",
        "points",
    ]
)
_LABEL_BEFORE = re.compile(
    r"(?:\bno\.?|\bnumber|\barticles?|\bart\.|\bpages?|\bp\.|\bchapters?|\bsections?|\bparagraphs?|\bannex"
    r"|\bobjectives?|\bpriorit(?:y|ies)|\bitems?|\bsteps?|\bphases?|\blevels?|\bgoals?|\bsdgs?|\bversion"
    r"|\bartikel(?:en)?|\blid|\bbijlagen?|\bhoofdstuk|\bonderdeel|\babsatz|\bkapitel|\banhang)\s+$",
    re.IGNORECASE,
)


def _unit_after(text: str, offset: int) -> tuple[int, str] | None:
    """(end, words) of the counted noun phrase starting after ``offset``, if it ends in a plural."""
    words: list[str] = []
    position = offset
    while len(words) < 4:
        if not text.startswith(" ", position):
            return None
        word = _WORD.match(text, position + 1)
        if not word or word.group().lower() in _STOP:
            return None
        words.append(word.group())
        position = word.end()
        if is_plural(word.group()):
            if word.group().lower() in _NOT_COUNTED:
                return None
            return position, " ".join(words)
    return None


def _name_before(text: str, start: int) -> bool:
    """Whether the number ends a name: a capitalised word right before it, not starting a sentence."""
    word = _WORD_BEFORE.search(text, max(0, start - 40), start)
    if not word or not word.group(1)[0].isupper():
        return False
    head = text[max(0, word.start() - 5) : word.start()].rstrip(" ")
    return bool(head) and (head[-1].isalnum() or head[-1] in ",;")


def _list_number(text: str, start: int, end: int) -> bool:
    """Whether the number numbers a list item or heading ("1. ...", "### 2) ...")."""
    line_start = text.rfind("\n", 0, start) + 1
    return bool(_LIST_PREFIX.fullmatch(text, line_start, start)) and text[end : end + 1] in (".", ")")


def find_counts(document: Document, taken: list[tuple[int, int]]) -> list[Fact]:
    """Count facts in ``document``, skipping numbers inside ``taken`` spans (dates, money, shares)."""
    text = document.masked
    facts = []
    for match in _NUMBER.finditer(text):
        start, end = match.span()
        if overlaps(start, end, taken) or _ORDINAL_NEXT.match(text, end) or _list_number(text, start, end):
            continue
        before = text[max(0, start - 20) : start]
        if _LABEL_BEFORE.search(before) or _WEEKDAY_BEFORE.search(before):
            continue
        if match["num"] and _name_before(text, start):
            continue
        scaled = bool(match["scale"])
        value = Decimal(word_value(match["word"])) if match["word"] else parse_number(match["num"], scaled=scaled)
        value *= scale_value(match["scale"])
        if value < 2 or value != value.to_integral_value():
            continue
        unit = _unit_after(text, end)
        if unit is None:
            continue
        qualifier = qualifier_before(text, start)
        facts.append(
            make_fact(
                document,
                "count",
                qualifier[0] if qualifier else start,
                unit[0],
                value=json_number(value),
                unit=unit[1],
                qualifier=qualifier[1] if qualifier else None,
            )
        )
    return facts
