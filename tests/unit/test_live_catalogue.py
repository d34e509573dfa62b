"""The live registry: every catalogue indicator has a live entry whose request asks for the indicator's cells."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from observatory.config.registry import load_registry

PROJECT = Path(__file__).resolve().parents[2]
CATALOGUE = list(csv.DictReader((PROJECT / "dbt_project/seeds/indicator_catalogue.csv").open(encoding="utf-8")))
LIVE = load_registry(PROJECT / "sources.yml", profile="live")


def asked_codes(source) -> dict[str, set[str]]:
    """Dimension → the codes a live Eurostat entry asks for (a dimension it does not name: every code)."""
    options = source.collect
    if options.get("api") == "sdmx":
        raise AssertionError(f"{source.source_id}: name the key's dimensions in the test to check an SDMX 2.1 key")
    return {
        dimension: {str(code) for code in (codes if isinstance(codes, list) else [codes])}
        for dimension, codes in (options.get("filters") or {}).items()
    }


def sdmx_key_codes(source, dimensions: list[str]) -> dict[str, set[str]]:
    """The codes of an SDMX 2.1 ``key`` list by dimension (empty item: every code)."""
    return {
        dimension: {str(code) for code in (item if isinstance(item, list) else [item])}
        for dimension, item in zip(dimensions, source.collect["key"], strict=True)
        if item != ""
    }


# The dimension order of the SDMX 2.1 datasets the live entries use, from the header of their real TSV files
SDMX_DIMENSIONS = {
    "lfsa_ergan": ["freq", "unit", "sex", "age", "citizen", "geo"],
    "lfsa_urgan": ["freq", "unit", "sex", "age", "citizen", "geo"],
    "edat_lfs_9912": ["freq", "unit", "sex", "isced11", "c_birth", "age", "geo"],
    "migr_resfirst": ["freq", "reason", "citizen", "duration", "unit", "geo"],
}


def codes_of(source) -> dict[str, set[str]]:
    if source.collect.get("api") == "sdmx":
        return sdmx_key_codes(source, SDMX_DIMENSIONS[source.collect["dataset"]])
    return asked_codes(source)


def asks_for(source, indicator: dict[str, str]) -> bool:
    """Whether the entry's request covers the indicator: its filter's codes and both comparison groups."""
    if source.collector != "eurostat" or source.collect.get("dataset") != indicator["dataset_code"]:
        return False
    wanted = dict(json.loads(indicator["dimension_filter"]))
    codes = codes_of(source)
    groups = [group for group in (indicator["migrant_group"], indicator["reference_group"]) if group]
    population = indicator["population_dimension"]
    return all(code in codes.get(dimension, {code}) for dimension, code in wanted.items()) and all(
        group in codes.get(population, {group}) for group in groups
    )


def test_the_catalogue_has_at_least_twenty_indicators_over_five_domains() -> None:
    assert len(CATALOGUE) >= 20
    assert {"employment", "education", "social_inclusion", "active_citizenship"} <= {
        row["indicator_domain"] for row in CATALOGUE
    }


@pytest.mark.parametrize("indicator", CATALOGUE, ids=lambda row: row["indicator_id"])
def test_every_catalogue_indicator_has_a_live_entry_asking_for_its_cells(indicator) -> None:
    entries = [source.source_id for source in LIVE.sources.values() if asks_for(source, indicator)]
    assert entries, (
        f"no live registry entry asks Eurostat for {indicator['indicator_id']} ({indicator['dataset_code']})"
    )


def test_live_entries_fetch_from_publishers_not_from_bundled_files() -> None:
    for source in LIVE.sources.values():
        assert not source.paths and not source.sample, source.source_id
        assert all(url.startswith("https://") for url in source.urls), source.source_id
        assert "OBSERVATORY_SAMPLE_BASE_URL" not in json.dumps(source.collect), source.source_id
