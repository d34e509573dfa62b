"""Counts of things: "180 delegates", "more than 45 city representatives", "ten action areas".

A count is a whole number from two up (digits or words, with an optional scale word: "2.5 million
people", "1.2m people", "12k people") followed by at most four words ending in a plural noun: ``unit`` is
those words ("city representatives"), ``value`` the number, ``qualifier`` a preceding "more than", "at
least", "minimum", "estimated", ... (else null).
A range ("25-30,000 refugees", "2-3 million people", "10 to 15 cities", "between 20 and 30 cities") is one
count: ``value`` is its lower and ``value_max`` its upper bound, both in full: a bare lower bound shares
the scale word or the thousands of the upper one ("25-30,000" is 25,000 to 30,000) when that keeps it
below the upper bound and within a factor ten of it. ``value_max`` is null for a single number. "From 20
to 30 cities" is a change, not a range: only its second number is a count.
Not counts: durations ("two years", "two-day"), ages ("18-25 year-olds"), ordinals ("8th"), list numbers
("1. ..."), numbers inside dates, money or shares, and small bare numbers that end a name ("Cities and
Migrants 3 report"; not "In Berlin 16,572 refugees").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from observatory.extract.dates import WEEKDAYS
from observatory.extract.document import Document
from observatory.extract.facts import Fact, make_fact, overlaps
from observatory.extract.gazetteer import load_gazetteer, name_key
from observatory.extract.numbers import (
    NUMBER,
    SCALE,
    SHORT_SCALE,
    WORD_NUMBER,
    is_plural,
    json_number,
    parse_number,
    qualifier_before,
    quantity,
    scale_value,
    word_value,
)
from observatory.extract.resources import MONTH_WORDS


def _term(prefix: str) -> str:
    """A number in digits or words with its scale, in groups named ``<prefix>num``, ``word``, ``scale``."""
    return (
        rf"(?:(?P<{prefix}num>\d{{1,3}}(?: \d{{3}})+(?!\d|[.,]\d)|{NUMBER})|(?P<{prefix}word>(?i:{WORD_NUMBER})))"
        rf"(?:\s*(?P<{prefix}scale>(?i:{SCALE}))|(?<=\d)(?P<{prefix}short>{SHORT_SCALE}))?"
    )


_NUMBER = re.compile(
    rf"(?<![\w.,:/#§-])"
    rf"(?:(?P<between>(?i:between))\s+{_term('b_')}\s+and\s+|{_term('lo_')}(?P<to>\s*[-–—]\s*|\s+to\s+))?"
    rf"{_term('')}(?![\w%:-]|[.,]\d)"
)
_FROM_BEFORE = re.compile(r"\b(?:from|rose|fell|grew|increased|decreased|dropped)\s+$", re.IGNORECASE)
_GROUPS = re.compile(r"(?:[,.\u00a0\u202f ]\d{3})+$")
_AGE = re.compile(r"(?:years?|months?|weeks?|days?)-olds?", re.IGNORECASE)
_DIMENSION_AFTER = re.compile(r" (?:high|long|wide|deep|tall|thick|square|cubic)\b", re.IGNORECASE)  # "10m high walls"
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
            if word.group().lower() in _NOT_COUNTED or _AGE.fullmatch(word.group()):
                return None
            return position, " ".join(words)
    return None


def _name_before(text: str, start: int) -> bool:
    """Whether the number ends a name: a capitalised word right before it, not starting a sentence, and
    not a possessive or a place ("In Berlin 300 refugees arrived", "Riga’s 600 volunteers")."""
    word = _WORD_BEFORE.search(text, max(0, start - 40), start)
    if not word or not word.group(1)[0].isupper():
        return False
    name = word.group(1)
    if name.endswith(("'s", "’s", "'", "’")) or name.lower() in MONTH_WORDS:
        return False
    gazetteer = load_gazetteer()
    if gazetteer.lookup(name_key(name)) or gazetteer.country_code(name):
        return False
    head = text[max(0, word.start() - 5) : word.start()].rstrip(" ")
    return bool(head) and (head[-1].isalnum() or head[-1] in ",;")


def _list_number(text: str, start: int, end: int) -> bool:
    """Whether the number numbers a list item or heading ("1. ...", "### 2) ...")."""
    line_start = text.rfind("\n", 0, start) + 1
    return bool(_LIST_PREFIX.fullmatch(text, line_start, start)) and text[end : end + 1] in (".", ")")


@dataclass(frozen=True)
class _Term:
    """One number of a count: its value in full, and whether it was written bare ("25" of "25-30,000")."""

    value: Decimal
    bare: bool  # no scale word and no thousands groups: may share those of the upper bound of a range
    scale: str | None
    thousands: int  # trailing groups of three zeros ("30,000" → 1, "3,000,000" → 2)


def _read(match: re.Match[str], prefix: str) -> _Term | None:
    """The number in the groups named with ``prefix``; None when there is none or it is no plausible quantity."""
    digits, word = match[f"{prefix}num"], match[f"{prefix}word"]
    scale = match[f"{prefix}scale"] or match[f"{prefix}short"]
    if digits is None and word is None:
        return None
    value = quantity(Decimal(word_value(word)) if word else parse_number(digits, scaled=bool(scale)), scale)
    if value is None:
        return None
    grouped = _GROUPS.search(digits) if digits else None
    groups = re.findall(r"\d{3}", grouped.group()) if grouped else []
    thousands = 0
    while thousands < len(groups) and groups[-1 - thousands] == "000":
        thousands += 1
    return _Term(value, not scale and not groups, scale, thousands)


def _range_low(low: _Term, high: _Term) -> Decimal | None:
    """The lower bound of the range "low-high" in full, or None when the two numbers make no range."""
    if low.bare:
        multipliers = [scale_value(high.scale)] if high.scale else []
        multipliers += [1000**groups for groups in range(high.thousands, 0, -1)]
        for multiplier in multipliers:
            shared = low.value * multiplier
            if shared < high.value < shared * 10:
                return shared
    return low.value if low.value < high.value else None


def _whole(value: Decimal, least: int = 2) -> bool:
    return value >= least and value == value.to_integral_value()


def find_counts(document: Document, taken: list[tuple[int, int]]) -> list[Fact]:
    """Count facts in ``document``, skipping numbers inside ``taken`` spans (dates, money, shares)."""
    text = document.masked
    facts = []
    for match in _NUMBER.finditer(text):
        high = _read(match, "")
        if high is None:
            continue
        value, value_max = high.value, None
        start, end = match.span()
        number_start = match.start("num") if match["num"] is not None else match.start("word")
        low_prefix = "b_" if match["between"] else "lo_"
        low = _read(match, low_prefix)
        low_value = _range_low(low, high) if low else None
        is_range = (
            low_value is not None
            and _whole(low_value, 1)
            and not overlaps(start, end, taken)
            and not (match["to"] and _FROM_BEFORE.search(text, max(0, start - 20), start))
        )
        if is_range:
            assert low_value is not None
            value, value_max = low_value, high.value
        elif start < number_start:  # not a range after all: the second number alone, as if written alone
            if re.search(r"[\w.,:/#§-]", text[number_start - 1 : number_start]):
                continue
            start = number_start
        if overlaps(start, end, taken) or _ORDINAL_NEXT.match(text, end) or _list_number(text, start, end):
            continue
        before = text[max(0, start - 20) : start]
        if _LABEL_BEFORE.search(before) or _WEEKDAY_BEFORE.search(before):
            continue
        first_digits = match[f"{low_prefix}num"] if is_range else match["num"]
        first_bare = (low.bare if is_range and low else high.bare) and not (is_range and high.scale)
        if first_digits and first_bare and _name_before(text, start):
            continue
        if not _whole(value, 1 if value_max is not None else 2):
            continue
        if match["short"] and match["short"] in "mM" and _DIMENSION_AFTER.match(text, end):
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
                value_max=json_number(value_max) if value_max is not None else None,
                unit=unit[1],
                qualifier=qualifier[1] if qualifier else None,
            )
        )
    return facts
