"""The urban_audit_cities seed: regenerating it from the committed city file gives the committed seed, and the
resolution rules handle the labels that need care."""

from __future__ import annotations

import csv
import io

import pytest

from observatory_dev import urban_audit_seed as seed


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, str]]:
    text = seed.CITY_SEED.read_text(encoding="utf-8")
    return {row["geo_code"]: row for row in csv.DictReader(io.StringIO(text))}


def test_committed_seed_is_what_the_script_generates() -> None:
    generated = seed.generate()
    committed = seed.CITY_SEED.read_text(encoding="utf-8")
    assert generated == committed, (
        "dbt_project/seeds/urban_audit_cities.csv is stale: run `python -m observatory_dev.urban_audit_seed`"
    )


def test_seed_covers_every_city_code_of_the_file(rows) -> None:
    labels = seed.read_city_labels()
    assert set(rows) == set(labels)
    assert len(rows) >= 300
    levels = {level: sum(1 for row in rows.values() if row["geo_level"] == level) for level in ("city", "greater_city")}
    assert levels == {"city": 526, "greater_city": 161}
    assert "DE001C" not in rows  # Berlin is not in the export
    assert not any(len(code) == 2 for code in rows)  # country rows are not cities


def test_every_null_has_its_reason(rows) -> None:
    for row in rows.values():
        assert bool(row["geonames_id"]) != bool(row["geonames_missing_reason"]), row
        assert (row["match_method"] == "unresolved") == (not row["geonames_id"]), row
        assert bool(row["nuts2_code"]) != bool(row["nuts2_missing_reason"]), row
        assert bool(row["nuts2_code"]) == bool(row["nuts2_method"]), row


def test_most_cities_resolve_to_geonames(rows) -> None:
    resolved = sum(1 for row in rows.values() if row["geonames_id"])
    assert resolved >= 0.9 * len(rows)


@pytest.mark.parametrize(
    ("geo_code", "geonames_id", "method"),
    [
        ("BE001C", "2800866", "name_part"),  # Bruxelles/Brussel (greater city) → Brussels
        ("DE004C", "2886242", "name"),  # Köln
        ("DE005C", "2925533", "name"),  # Frankfurt am Main, not Frankfurt (Oder)
        ("FI001C", "658225", "name_part"),  # Helsinki/Helsingfors
        ("ES033C", "2518207", "article_moved"),  # Puerto de Santa María, El
        ("DE021C", "2867838", "abbreviation_expanded"),  # Mülheim a.d.Ruhr
        ("IT001C", "3169070", "alias"),  # Roma: the gazetteer drops "Roma" as a given name
        ("UK134C", "2640677", "qualifier_town"),  # Renfrewshire (Paisley)
    ],
)
def test_labels_that_need_care(rows, geo_code, geonames_id, method) -> None:
    assert (rows[geo_code]["geonames_id"], rows[geo_code]["match_method"]) == (geonames_id, method)


def test_unresolved_cities_say_why(rows) -> None:
    assert "metropolitan and overseas" in rows["FR030C"]["geonames_missing_reason"]  # Saint-Denis
    assert "several towns" in rows["UK055C"]["geonames_missing_reason"]  # North Lanarkshire (Airdrie/...)
    assert "Saint Peters" in rows["UK033C"]["geonames_missing_reason"]  # Thanet, a curated exclusion


def test_greater_city_label_and_name(rows) -> None:
    brussels = rows["BE001C"]
    assert brussels["city_label"] == "Bruxelles/Brussel (greater city)"
    assert (brussels["city_name"], brussels["geo_level"]) == ("Bruxelles/Brussel", "greater_city")
    assert seed.city_name_of("Caserta  (greater city)") == "Caserta"


def test_nuts2_rules(rows) -> None:
    assert (rows["DE004C"]["nuts2_code"], rows["DE004C"]["nuts2_method"]) == ("DEA2", "nuts3_name")
    assert (rows["DE017C"]["nuts2_code"], rows["DE017C"]["nuts2_method"]) == ("DEE0", "nuts3_name")  # Halle (Saale)
    assert rows["EE001C"]["nuts2_method"] == "single_nuts2_country"
    assert rows["HU001C"]["nuts2_code"] == "HU11"  # Budapest
    regions = {region.code for region in seed.read_regions()}
    assert all(row["nuts2_code"] in regions for row in rows.values() if row["nuts2_code"])


def test_nuts_seed_is_nuts_2021() -> None:
    regions = {region.code: region for region in seed.read_regions()}
    levels = [region.level for region in regions.values()]
    assert {level: levels.count(level) for level in range(4)} == {0: 37, 1: 125, 2: 334, 3: 1514}
    assert {"HR02", "HR05", "HR06", "FI1B", "IE06", "UKF24"} <= set(regions)  # 2021 codes
    assert regions["DEA23"].name == "Köln, Kreisfreie Stadt"
