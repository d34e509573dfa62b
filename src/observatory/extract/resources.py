"""Loading the curated lists shipped in ``observatory/extract/data`` (cached: each file is read once)."""

from __future__ import annotations

from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

import pycountry
import yaml

from observatory.extract.text import fold

MONTH_WORDS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
WEEKDAY_WORDS = frozenset(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])


def _data_text(name: str) -> str:
    return (files("observatory.extract") / "data" / name).read_text(encoding="utf-8")


@cache
def load_yaml(name: str) -> Any:
    """A YAML data file, parsed."""
    return yaml.safe_load(_data_text(name))


def _word_list(name: str) -> frozenset[str]:
    return frozenset(
        line.strip() for line in _data_text(name).splitlines() if line.strip() and not line.startswith("#")
    )


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Common English words, lower-case."""
    return _word_list("english_words.txt")


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Given names, lower-case without diacritics ("francois").

    Left out: calendar words ("May", "June") and names of up to three letters that are also words
    ("In", "An", "Max"), which would otherwise make "In Split" a person.
    """
    words = english_words()
    names = {fold(name).lower() for name in _word_list("first_names.txt")}
    return (
        frozenset(name for name in names if len(name) > 3 or (len(name) == 3 and name not in words))
        - MONTH_WORDS
        - WEEKDAY_WORDS
    )


@lru_cache(maxsize=1)
def language_names() -> frozenset[str]:
    """Names of the major languages (ISO 639-1), lower-case: "thai", "kazakh", "arabic"."""
    return frozenset(fold(language.name).lower() for language in pycountry.languages if hasattr(language, "alpha_2"))
