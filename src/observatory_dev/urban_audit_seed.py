"""Build the ``urban_audit_cities`` dbt seed from Eurostat's Urban Audit city file and the project's gazetteer.

``python -m observatory_dev.urban_audit_seed`` reads ``sample_data/eurostat/estat_urb_cpopcb_sdmxcsv2_labels.csv``
(``urb_cpopcb`` as SDMX-CSV 2.0 with labels: the code of the ``cities`` dimension and, in the next column, its
label) and the ``nuts_2021_regions`` seed, and writes ``dbt_project/seeds/urban_audit_cities.csv``: one row per city
code of the file (``BE001C``; country rows such as ``BE`` are not cities and are left out), sorted by code. A test
(``tests/unit/test_urban_audit_seed.py``) regenerates it and fails when the committed seed is stale.

Columns:

- ``geo_code``: the Urban Audit code; ``city_label``: the file's label, unchanged; ``city_name``: the label without
  its `` (greater city)`` suffix and with spacing collapsed;
- ``country_code``: the Eurostat code of the city's country (the code's first two letters: ``EL`` Greece, ``UK``
  the United Kingdom);
- ``geo_level``: ``greater_city`` when the label says ``(greater city)``, else ``city``. In this file Eurostat gives
  the ``..C`` code itself the greater-city label where the city is published as its greater city (Bruxelles/Brussel,
  Paris, Lisboa, ...); there are no ``..K`` codes;
- ``nuts2_code``, ``nuts2_method``, ``nuts2_missing_reason``: the NUTS 2021 level-2 region of the city, from the
  country when it has one NUTS 2 region only (``single_nuts2_country``), else from the one NUTS 3 region
  (``nuts3_name``) or NUTS 2 region (``nuts2_name``) of the country that bears the city's name (Köln → "Köln,
  Kreisfreie Stadt" DEA23 → DEA2). NUTS 2021 has no city correspondence and the project has no coordinates or LAU
  codes, so a city whose name no region bears keeps NULL and the reason;
- ``geonames_id``, ``geonames_name``, ``match_method``, ``geonames_missing_reason``: the GeoNames city of the
  project's gazetteer (``observatory.extract.gazetteer``, the one reports, events and funding resolve cities with),
  restricted to the country, the most populous of the cities a spelling names. Spellings are tried in order:
  the whole name (``name``), each part of a ``/`` name (``name_part``: Bruxelles/Brussel, Helsinki/Helsingfors), the
  name without a parenthesised qualifier (``without_qualifier``: Kempten (Allgäu)), the one town a council area's
  label names in brackets (``qualifier_town``: Renfrewshire (Paisley)), a trailing Spanish article put in front
  (``article_moved``: Puerto de Santa María, El), German abbreviations written out (``abbreviation_expanded``:
  Mülheim a.d.Ruhr), each part of a hyphenated name (``hyphen_part``: Cannes-Antibes) and the curated spellings of
  :data:`ALIASES` (``alias``). Unresolved cities keep NULL and the reason.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from observatory.extract.gazetteer import City, load_gazetteer, name_key

PROJECT = Path(__file__).resolve().parents[2]
CITY_FILE = PROJECT / "sample_data" / "eurostat" / "estat_urb_cpopcb_sdmxcsv2_labels.csv"
NUTS_SEED = PROJECT / "dbt_project" / "seeds" / "nuts_2021_regions.csv"
CITY_SEED = PROJECT / "dbt_project" / "seeds" / "urban_audit_cities.csv"

COLUMNS = (
    "geo_code",
    "city_label",
    "city_name",
    "country_code",
    "geo_level",
    "nuts2_code",
    "nuts2_method",
    "nuts2_missing_reason",
    "geonames_id",
    "geonames_name",
    "match_method",
    "geonames_missing_reason",
)

CITY_CODE = re.compile(r"[A-Z]{2}[0-9]{3}[CK]")
GREATER_CITY = re.compile(r"\s*\(greater city\)\s*$")
QUALIFIER = re.compile(r",?\s*\(([^()]*)\)")
JOINED_TOWNS = re.compile(r"\s+(?:and|with)\s+")
TRAILING_ARTICLE = re.compile(r"^(?P<name>.+),\s*(?P<article>El|La|Los|Las|L')$")
# Eurostat writes the ISO code of Greece and the United Kingdom its own way
ISO_OF_EUROSTAT = {"EL": "GR", "UK": "GB"}
# German abbreviations of the file's labels ("Mülheim a.d.Ruhr") and the words GeoNames spells out
ABBREVIATIONS = ((re.compile(r"\ba\.\s*d\.\s*", re.IGNORECASE), "an der "), (re.compile(r"\bi\.\s*"), "im "))
# NUTS region names carry words that are not part of the city's name
NUTS_NAME_NOISE = re.compile(
    r",\s*(Kreisfreie Stadt|Stadtkreis|Landkreis|City of|County of)$|^(Arr\.|Prov\.|Miasto|Grad)\s+|\s+(CC|län)$"
)

# GeoNames gives France's overseas departments their own country codes; a French Urban Audit city may be there
OVERSEAS = {"FR": ("GP", "MQ", "GF", "RE", "YT")}
# Spellings the gazetteer does not find, with the reason each is right (geo_code → spelling).
ALIASES: dict[str, str] = {
    # the gazetteer drops the alternate name "Roma" of Rome as a given name
    "IT001C": "Rome",
}
# Matches of the rules that are wrong, with the reason (geo_code → reason the city stays unresolved).
EXCLUDED: dict[str, str] = {
    "UK033C": "GeoNames gives the district name Thanet to the village of Saint Peters; the district (Margate, "
    "Ramsgate, Broadstairs) is no single GeoNames city",
}


@dataclass(frozen=True)
class Region:
    """A NUTS 2021 region of the seed."""

    code: str
    name: str
    level: int
    country_code: str


@dataclass(frozen=True)
class CityRow:
    """One row of the seed."""

    geo_code: str
    city_label: str
    city_name: str
    country_code: str
    geo_level: str
    nuts2_code: str
    nuts2_method: str
    nuts2_missing_reason: str
    geonames_id: str
    geonames_name: str
    match_method: str
    geonames_missing_reason: str

    def values(self) -> list[str]:
        return [getattr(self, column) for column in COLUMNS]


def read_city_labels(path: Path = CITY_FILE) -> dict[str, str]:
    """Urban Audit city code → label, in the order of the file (country rows such as ``BE`` left out)."""
    labels: dict[str, str] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        code_at = header.index("cities")
        label_at = code_at + 1  # SDMX-CSV with labels: the label column follows its code column
        for record in reader:
            code = record[code_at]
            if CITY_CODE.fullmatch(code):
                labels.setdefault(code, record[label_at])
    return labels


def read_regions(path: Path = NUTS_SEED) -> list[Region]:
    """The NUTS 2021 regions of the seed."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Region(row["nuts_code"], row["nuts_name"], int(row["nuts_level"]), row["country_code"])
            for row in csv.DictReader(handle)
        ]


def city_name_of(label: str) -> str:
    """The label without `` (greater city)`` and with spacing collapsed ("Caserta  (greater city)" → "Caserta")."""
    return " ".join(GREATER_CITY.sub("", label).split())


def spellings(geo_code: str, name: str) -> Iterator[tuple[str, str]]:
    """(method, spelling) to try for a city, in order."""
    yield "name", name
    if "/" in name and "(" not in name:
        for part in name.split("/"):
            yield "name_part", part.strip()
    qualifier = QUALIFIER.search(name)
    if qualifier:
        bare = QUALIFIER.sub("", name).strip()
        yield "without_qualifier", bare
        towns = qualifier.group(1)
        if "/" not in towns and "part" not in towns:
            yield "qualifier_town", towns.strip()
    article = TRAILING_ARTICLE.match(name)
    if article:
        yield "article_moved", f"{article['article']} {article['name']}"
    expanded = name
    for pattern, words in ABBREVIATIONS:
        expanded = pattern.sub(words, expanded)
    if expanded != name:
        yield "abbreviation_expanded", expanded
    if name.endswith(" City"):
        yield "without_city_word", name.removesuffix(" City")
    # a double name ("Cannes-Antibes", "Saint-Louis-Bâle"): the name without its last part(s)
    segments = QUALIFIER.sub("", name).strip(" ,").split("-")
    for end in range(len(segments) - 1, 0, -1):
        yield "hyphen_part", "-".join(segments[:end])
    # a district named after its towns ("Nuneaton and Bedworth", "Blackburn with Darwen"): the first town
    towns = JOINED_TOWNS.split(name)
    if len(towns) > 1:
        yield "first_named_town", towns[0]
    if geo_code in ALIASES:
        yield "alias", ALIASES[geo_code]


def resolve_city(geo_code: str, name: str, country_code: str) -> tuple[City | None, str, str]:
    """(GeoNames city, method, reason unresolved) for a city: the first spelling that names a city of the country,
    the most populous of those it names."""
    if geo_code in EXCLUDED:
        return None, "unresolved", EXCLUDED[geo_code]
    gazetteer = load_gazetteer()
    iso = ISO_OF_EUROSTAT.get(country_code, country_code)
    countries = (iso, *OVERSEAS.get(iso, ()))
    for method, spelling in spellings(geo_code, name):
        key = name_key(spelling)
        cities = (
            {entry.city for entry in gazetteer.lookup(key) if entry.city.country_code in countries} if key else set()
        )
        if len({city.country_code for city in cities}) > 1:
            places = ", ".join(sorted({f"{city.name} ({city.country_code})" for city in cities}))
            return None, "unresolved", f"ambiguous: the name fits cities in metropolitan and overseas France ({places})"
        if cities:
            return max(cities, key=lambda city: (city.population, -city.geonames_id)), method, ""
    qualifier = QUALIFIER.search(name)
    if qualifier and "/" in qualifier.group(1):
        return None, "unresolved", "council area of several towns (named in brackets); no single GeoNames city"
    reason = f"no GeoNames city of 5 000+ inhabitants in {iso} is spelled like the label"
    if country_code == "UK":
        reason += " (a local-authority district named after no town of GeoNames)"
    elif country_code == "NL":
        reason += " (a municipality named after no town of GeoNames)"
    return None, "unresolved", reason


def _region_key(name: str) -> str:
    return name_key(NUTS_NAME_NOISE.sub("", name.strip()))


class NutsIndex:
    """NUTS 2 regions of a city: by the country's only NUTS 2 region, or by a NUTS 3 / NUTS 2 name."""

    def __init__(self, regions: Iterable[Region]) -> None:
        self.nuts2_of_country: dict[str, list[str]] = {}
        self.by_name: dict[tuple[str, int, str], set[str]] = {}
        for region in regions:
            if region.level == 2:
                self.nuts2_of_country.setdefault(region.country_code, []).append(region.code)
            if region.level in (2, 3):
                for name in {region.name, *region.name.split("/")}:
                    key = _region_key(name)
                    if key:
                        nuts2 = region.code[:4]
                        self.by_name.setdefault((region.country_code, region.level, key), set()).add(nuts2)

    def nuts2(self, city_name: str, country_code: str, geonames_name: str = "") -> tuple[str, str, str]:
        """(NUTS 2 code, method, reason missing) of a city, by its name or its GeoNames name."""
        regions = self.nuts2_of_country.get(country_code, [])
        if not regions:
            return "", "", f"no NUTS 2021 regions for {country_code} in the nuts_2021_regions seed"
        if len(regions) == 1:
            return regions[0], "single_nuts2_country", ""
        names = [city_name, *(part for part in city_name.split("/") if "/" in city_name)]
        names.append(QUALIFIER.sub("", city_name))
        if geonames_name:
            names.append(geonames_name)
        for level, method in ((3, "nuts3_name"), (2, "nuts2_name")):
            found: set[str] = set()
            for name in names:
                found |= self.by_name.get((country_code, level, name_key(name)), set())
            if len(found) == 1:
                return found.pop(), method, ""
            if len(found) > 1:
                return "", "", f"the name fits NUTS regions of several NUTS 2 regions ({', '.join(sorted(found))})"
        return "", "", "no NUTS 2021 NUTS 3 or NUTS 2 region of the country bears the city's name"


def build_rows(labels: dict[str, str], regions: Iterable[Region]) -> list[CityRow]:
    """The seed's rows, sorted by code."""
    nuts = NutsIndex(regions)
    rows = []
    for geo_code in sorted(labels):
        label = labels[geo_code]
        name = city_name_of(label)
        country = geo_code[:2]
        city, method, reason = resolve_city(geo_code, name, country)
        nuts2, nuts2_method, nuts2_reason = nuts.nuts2(name, country, city.name if city else "")
        rows.append(
            CityRow(
                geo_code=geo_code,
                city_label=label,
                city_name=name,
                country_code=country,
                geo_level="greater_city" if GREATER_CITY.search(label) else "city",
                nuts2_code=nuts2,
                nuts2_method=nuts2_method,
                nuts2_missing_reason=nuts2_reason,
                geonames_id=str(city.geonames_id) if city else "",
                geonames_name=city.name if city else "",
                match_method=method,
                geonames_missing_reason=reason,
            )
        )
    return rows


def render(rows: Iterable[CityRow]) -> str:
    """The seed's CSV text (LF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.values())
    return out.getvalue()


def generate(city_file: Path = CITY_FILE, nuts_seed: Path = NUTS_SEED) -> str:
    """The seed's text from the city file and the NUTS seed."""
    return render(build_rows(read_city_labels(city_file), read_regions(nuts_seed)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city-file", type=Path, default=CITY_FILE)
    parser.add_argument("--nuts-seed", type=Path, default=NUTS_SEED)
    parser.add_argument("--output", type=Path, default=CITY_SEED)
    args = parser.parse_args(argv)
    text = generate(args.city_file, args.nuts_seed)
    args.output.write_text(text, encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    resolved = sum(1 for row in rows if row["geonames_id"])
    with_nuts2 = sum(1 for row in rows if row["nuts2_code"])
    greater = sum(1 for row in rows if row["geo_level"] == "greater_city")
    print(
        f"{args.output}: {len(rows)} codes ({len(rows) - greater} cities, {greater} greater cities), "
        f"{resolved} resolved to GeoNames, {with_nuts2} with a NUTS 2 region",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
