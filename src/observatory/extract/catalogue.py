"""Finding the names of a curated list (programmes, organisations) in text.

Each alias matches as written or in capitals; a one-word alias with an inner capital ("InvestEU",
"EaSI") also in any case ("investEU"). Between the words of a long name, commas and spacing are free
and "and" may be "&" ("Asylum Migration and Integration Fund"). A name glued to a word, a hyphen or a
"+" does not match ("non-EU", "ESF" inside "ESF+").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


def _alias_key(text: str) -> str:
    return " ".join(re.sub(r"[\s,\-\u2010-\u2015]+", " ", text.lower().replace("&", "and")).split())


def _alias_pattern(alias: str) -> str:
    words = re.split(r"[\s,]+", alias.strip())
    parts = ["(?:and|&)" if word == "and" else re.escape(word).replace(r"\-", r"[-\u2010-\u2015 ]") for word in words]
    return r",?\s+".join(parts)


def _variants(alias: str) -> list[str]:
    variants = [_alias_pattern(alias)]
    if alias.upper() != alias:
        variants.append(_alias_pattern(alias.upper()))
    if " " not in alias and any(ch.isupper() for ch in alias[1:]) and not alias.isupper():
        variants.append(f"(?i:{_alias_pattern(alias)})")
    return variants


@dataclass(frozen=True)
class CatalogueMatch:
    """A catalogue name found at ``start``..``end``, with the entry's attributes."""

    start: int
    end: int
    attributes: Mapping[str, Any]


class Catalogue:
    """Names (each with its aliases) mapped to the attributes emitted for them."""

    def __init__(self, entries: list[tuple[list[str], Mapping[str, Any]]]) -> None:
        self._by_key: dict[str, Mapping[str, Any]] = {}
        for aliases, attributes in entries:
            for alias in aliases:
                self._by_key.setdefault(_alias_key(alias), attributes)
        aliases_by_length = sorted({alias for aliases, _ in entries for alias in aliases}, key=len, reverse=True)
        alternatives = "|".join(variant for alias in aliases_by_length for variant in _variants(alias))
        self._pattern = re.compile(rf"(?<![\w+\-])(?:{alternatives})(?![\w+]|-\w)")

    def find(self, text: str) -> Iterator[CatalogueMatch]:
        """Non-overlapping matches in ``text``, longest name first at each position."""
        for match in self._pattern.finditer(text):
            attributes = self._by_key.get(_alias_key(match.group()))
            if attributes is not None:
                yield CatalogueMatch(match.start(), match.end(), attributes)
