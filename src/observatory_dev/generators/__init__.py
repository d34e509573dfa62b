"""Synthetic publisher payloads for benchmarks and tests, deterministic by seed (development tooling only).

- ``jsonstat``: a JSON-stat 2.0 cube as Eurostat's Statistics API answers it (bytes in memory);
- ``sdmx_csv``: an SDMX-CSV 2.0 download with labels as Eurostat's SDMX 3.0 API answers it with
  ``compress=true`` (gzip, streamed to a file, for tens of millions of cells);
- ``socrata``: a Socrata SODA resource served from localhost (``observatory_dev.bench_funding``).

Both draw their cells from a ``Cube``: the dataset's dimensions in Eurostat's order with their labels, the time
dimension last. ``population_cube`` is shaped like migr_pop1ctz / migr_pop3ctb filtered on the catalogue's
``population_by_citizenship`` / ``population_by_birth`` cells (unit NR, age TOTAL, sex T), with as many codes of the
population dimension (real ones first: NAT, FOR, EU27_2020_FOR, NEU27_2020_FOR, ..., then synthetic ones) as ``n``
cells need, so that every generated cell reaches the indicator marts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# 41 reporting countries and the EU aggregate, with Eurostat's English labels
GEO: dict[str, str] = {
    "EU27_2020": "European Union - 27 countries (from 2020)",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "CZ": "Czechia",
    "DK": "Denmark",
    "DE": "Germany",
    "EE": "Estonia",
    "IE": "Ireland",
    "EL": "Greece",
    "ES": "Spain",
    "FR": "France",
    "HR": "Croatia",
    "IT": "Italy",
    "CY": "Cyprus",
    "LV": "Latvia",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "HU": "Hungary",
    "MT": "Malta",
    "NL": "Netherlands",
    "AT": "Austria",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "SI": "Slovenia",
    "SK": "Slovakia",
    "FI": "Finland",
    "SE": "Sweden",
    "IS": "Iceland",
    "LI": "Liechtenstein",
    "NO": "Norway",
    "CH": "Switzerland",
    "UK": "United Kingdom",
    "ME": "Montenegro",
    "MK": "North Macedonia",
    "AL": "Albania",
    "RS": "Serbia",
    "TR": "Türkiye",
    "BA": "Bosnia and Herzegovina",
    "XK": "Kosovo*",
}
GROUPS: dict[str, str] = {  # the population groups the catalogue compares, and a few more
    "NAT": "Reporting country",
    "FOR": "Foreign country",
    "EU27_2020_FOR": "EU27 countries (from 2020) except reporting country",
    "NEU27_2020_FOR": "Non-EU27 countries (from 2020) nor reporting country",
    "TOTAL": "Total",
    "STLS": "Stateless",
    "UNK": "Unknown",
}
FLAGS: dict[str, str] = {"p": "provisional", "b": "break in time series", "e": "estimated"}
CONFIDENTIAL = ("C", "Confidential statistical information")
FILLED_SHARE = 0.85  # share of the cube's cells that hold an observation (Eurostat's cubes are sparse)
FLAGGED_SHARE = 0.15  # share of observations with a status flag
CONFIDENTIAL_SHARE = 0.005  # share of observations withheld (no value, CONF_STATUS C)


@dataclass(frozen=True)
class Dimension:
    id: str
    label: str
    codes: tuple[tuple[str, str], ...]  # (code, label) in the dataset's order


@dataclass(frozen=True)
class Cube:
    """A dataset's shape: its code and title, its dimensions in order (time last)."""

    dataset: str  # e.g. migr_pop1ctz
    title: str
    dimensions: tuple[Dimension, ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(dimension.codes) for dimension in self.dimensions)

    @property
    def cells(self) -> int:
        return math.prod(self.sizes)


def population_cube(n: int, dataset: str = "migr_pop1ctz") -> Cube:
    """A cube of at least ``n`` / ``FILLED_SHARE`` cells shaped like ``dataset`` (migr_pop1ctz: by citizenship,
    migr_pop3ctb: by country of birth), every cell a catalogue cell (unit NR, age TOTAL, sex T)."""
    group, group_label, title = {
        "migr_pop1ctz": (
            "citizen",
            "Country of citizenship",
            "Population on 1 January by age group, sex and citizenship",
        ),
        "migr_pop3ctb": (
            "c_birth",
            "Country of birth",
            "Population on 1 January by age group, sex and country of birth",
        ),
    }[dataset]
    years = tuple((str(year), str(year)) for year in range(2000, 2026))
    per_group = len(GEO) * len(years)
    needed = max(1, math.ceil(n / FILLED_SHARE / per_group))
    real = list(GROUPS.items())
    synthetic = [(f"X{i:05d}", f"Synthetic group {i}") for i in range(max(0, needed - len(real)))]
    dimensions = (
        Dimension("freq", "Time frequency", (("A", "Annual"),)),
        Dimension(group, group_label, tuple((real + synthetic)[: max(needed, 1)])),
        Dimension("age", "Age class", (("TOTAL", "Total"),)),
        Dimension("unit", "Unit of measure", (("NR", "Number"),)),
        Dimension("sex", "Sex", (("T", "Total"),)),
        Dimension("geo", "Geopolitical entity (reporting)", tuple(GEO.items())),
        Dimension("time", "Time", years),
    )
    return Cube(dataset, title, dimensions)
