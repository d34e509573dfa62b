"""Shares: "a minimum of 5%", "10% of the thematic facility", "half of the migrants", "1 in 5 refugees".

``value`` is in percent (5 for 5%, 50 for "half"); ``unit`` is ``percent`` or ``percentage points``;
``qualifier`` as for counts ("minimum", "up to", ...); ``of`` is what the share is of, when the sentence
says ("the thematic facility"), skipping a parenthesis in between ("5% (€200 million) of ...").
"""

from __future__ import annotations

import re
from decimal import Decimal

from observatory.extract.document import Document
from observatory.extract.facts import Fact, make_fact
from observatory.extract.numbers import (
    NUMBER,
    WORD_NUMBER,
    is_plural,
    json_number,
    parse_number,
    qualifier_before,
    quantity,
    word_value,
)

_PERCENT = re.compile(rf"(?<![\w.,])(?P<num>{NUMBER})\s?(?P<unit>%|per\s?cent\b|percent\b|percentage points?\b|pp\b)")
_FRACTIONS = {
    "half": Decimal(50),
    "one half": Decimal(50),
    "a third": Decimal("33.33"),
    "one third": Decimal("33.33"),
    "two thirds": Decimal("66.67"),
    "a quarter": Decimal(25),
    "one quarter": Decimal(25),
    "three quarters": Decimal(75),
    "a fifth": Decimal(20),
    "one fifth": Decimal(20),
}
_FRACTION = re.compile(
    r"\b(?P<frac>"
    + "|".join(name.replace(" ", "[ -]") for name in sorted(_FRACTIONS, key=len, reverse=True))
    + r")(?=\s+of\b)",
    re.IGNORECASE,
)
_RATIO = re.compile(
    rf"(?<![\w.,])(?P<part>\d+|(?i:{WORD_NUMBER})|(?i:one))\s+(?:in|out\s+of)\s+(?P<whole>\d+|(?i:{WORD_NUMBER}))"
    r"(?![\w%.,]|\s*(?:%|per\s?cent))"
)
_OF = re.compile(r"(?:\s*\([^()\n]{0,80}\))?\s+of\s+")
_POSSESSIVES = frozenset({"its", "this", "his", "hers", "ours", "yours", "theirs", "these", "those"})
_NP_WORD = re.compile(r"[\w’'+-]+")
_NP_STOP = frozenset(
    [
        "to",
        "for",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "that",
        "which",
        "who",
        "whose",
        "is",
        "are",
        "was",
        "were",
        "will",
        "be",
        "been",
        "should",
        "must",
        "can",
        "could",
        "would",
        "may",
        "might",
        "shall",
        "has",
        "have",
        "had",
        "as",
        "than",
        "per",
        "into",
        "under",
        "over",
        "through",
        "via",
        "during",
        "between",
        "against",
        "within",
        "without",
        "and",
        "or",
        "but",
        "go",
        "goes",
        "went",
        "remain",
        "remains",
        "need",
        "needs",
        "include",
        "includes",
        "represent",
        "represents",
        "account",
        "accounts",
    ]
)


def _what_of(text: str, offset: int) -> str | None:
    """The noun phrase after "of" at ``offset``."""
    match = _OF.match(text, offset)
    return _noun_phrase(text, match.end()) if match else None


def _noun_phrase(text: str, position: int) -> str | None:
    """Up to six words from ``position``, ending at a plural noun and stopping at a function word or
    common verb, at an -ing word, or at an -ed word after two words ("the cities applied")."""
    words: list[str] = []
    while len(words) < 6:
        word = _NP_WORD.match(text, position)
        token = word.group() if word else ""
        if (
            word is None
            or not token
            or token.lower() in _NP_STOP
            or (words and token.endswith("ing"))
            or (len(words) >= 2 and token.islower() and token.endswith("ed"))
        ):
            break
        words.append(token)
        position = word.end()
        if is_plural(token) and token.lower() not in _POSSESSIVES:
            break
        if not text.startswith(" ", position):
            break
        position += 1
    return " ".join(words) or None


def find_shares(document: Document) -> list[Fact]:
    """Share facts in ``document``."""
    text = document.masked
    facts = []
    for match in _PERCENT.finditer(text):
        unit = "percentage points" if match["unit"].lower().startswith(("percentage", "pp")) else "percent"
        percent = quantity(parse_number(match["num"]))
        if percent is not None:
            facts.append(_fact(document, match, json_number(percent), unit))
    for match in _RATIO.finditer(text):
        part, whole = (_ratio_term(match[name]) for name in ("part", "whole"))
        if part is not None and whole is not None and 0 < part < whole:
            value = (Decimal(part) * 100 / whole).quantize(Decimal("0.01")).normalize()
            after = _noun_phrase(text, match.end() + 1) if text.startswith(" ", match.end()) else None
            facts.append(_fact(document, match, json_number(value), "percent", after))
    for match in _FRACTION.finditer(text):
        value = _FRACTIONS[re.sub(r"[ -]+", " ", match["frac"].lower())]
        facts.append(_fact(document, match, json_number(value), "percent"))
    return sorted(facts, key=lambda fact: fact.start)


def _ratio_term(text: str) -> int | None:
    """The value of one side of "1 in 5"; None for a digit run too long to be a number of people."""
    if text.isdigit():
        return int(text) if len(text) <= 15 else None
    return word_value(text)


def _fact(document: Document, match: re.Match[str], value: float, unit: str, of: str | None = None) -> Fact:
    qualifier = qualifier_before(document.masked, match.start())
    return make_fact(
        document,
        "share",
        qualifier[0] if qualifier else match.start(),
        match.end(),
        value=value,
        unit=unit,
        qualifier=qualifier[1] if qualifier else None,
        of=of or _what_of(document.masked, match.end()),
    )
