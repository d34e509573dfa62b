"""funding_json's ``country_field``: each record's own country (an English name as the EU cohesion portal
writes it, or a code) becomes its row's ISO alpha-2 ``country_code`` and the country its place is resolved in; a
record whose country cannot be named is rejected with the reason, and the rest of the page loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from observatory.config.registry import ALL_PROFILES, load_registry
from observatory.parse import Note, Rejected
from observatory.parse.funding_json import COUNTRY_NAMES, country_code, country_table, parse
from observatory.warehouse.raw_tables import RAW_TABLES

PROJECT = Path(__file__).resolve().parents[2]
SAMPLE = PROJECT / "sample_data" / "funding" / "cohesiondata" / "resource" / "557j-pmg8.json"
COLUMNS = RAW_TABLES["funding_operation"].column_names
REGISTRY = load_registry(PROJECT / "sources.yml", profile=ALL_PROFILES)
OPTIONS: dict[str, Any] = {
    "fields": {
        "beneficiary_name": "beneficiary",
        "operation_title": "title",
        "amount": "amount",
        "location_code": "nuts",
        "location_name": "city",
    },
    "country_field": "country",
    "currency": "EUR",
    "decimal": ".",
}


def page(*records: dict[str, Any]) -> bytes:
    return json.dumps(list(records), ensure_ascii=False).encode()


def record(country: Any, city: str = "Milano", number: int = 1) -> dict[str, Any]:
    """An operation in ``country`` (``...``: without the field), with no NUTS code."""
    operation = {"beneficiary": f"Comune {number}", "title": f"Operation {number}", "amount": "1000", "city": city}
    return operation | {"nuts": None} | ({} if country is ... else {"country": country})


def parsed(payload: bytes, options: dict[str, Any] = OPTIONS) -> tuple[list[dict], list[Rejected]]:
    items = list(parse(payload, options))
    rows = [dict(zip(COLUMNS, item, strict=True)) for item in items if isinstance(item, tuple)]
    return rows, [item for item in items if isinstance(item, Rejected)]


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Italy", "IT"),
        ("France", "FR"),
        ("Czechia", "CZ"),
        ("Czech Republic", "CZ"),
        ("  the  Netherlands ", "NL"),
        ("GREECE", "GR"),
        ("United Kingdom", "GB"),
        ("Türkiye", "TR"),
        ("PL", "PL"),
        ("el", "GR"),  # Eurostat's codes
        ("UK", "GB"),
    ],
)
def test_country_names_and_codes_map_to_iso_alpha2(written: str, code: str) -> None:
    assert country_code(written, COUNTRY_NAMES) == code


def test_every_country_of_the_table_is_a_two_letter_code() -> None:
    assert all(len(code) == 2 and code.isupper() for code in COUNTRY_NAMES.values())
    assert {"IT", "FR", "CZ", "DE", "ES", "PL", "GR", "SE"} <= set(COUNTRY_NAMES.values())


def test_each_row_has_its_own_country_and_its_place_is_resolved_there() -> None:
    rows, rejected = parsed(
        page(record("Italy", "Milano", 1), record("France", "Lyon", 2), record("Czechia", "Brno", 3))
    )
    assert not rejected
    assert [(row["beneficiary_name"], row["country_code"], row["city_name"]) for row in rows] == [
        ("Comune 1", "IT", "Milan"),
        ("Comune 2", "FR", "Lyon"),
        ("Comune 3", "CZ", "Brno"),
    ]


def test_an_unknown_country_is_rejected_with_the_reason_and_the_rest_loads() -> None:
    rows, rejected = parsed(page(record("Italy", number=1), record("Atlantis", number=2), record("Spain", number=3)))
    assert [row["country_code"] for row in rows] == ["IT", "ES"]
    [atlantis] = rejected
    assert atlantis.where == "record 2"
    assert atlantis.reason == (
        "country_field country: 'Atlantis' is not a country the parser knows (add it to the entry's country_names)"
    )
    assert json.loads(atlantis.raw)["country"] == "Atlantis"


def test_a_record_without_a_country_takes_its_nuts_codes_or_the_entrys_country_code_or_is_rejected() -> None:
    payload = page(
        record("Italy", number=1),
        record(..., number=2),
        record(None, number=3),
        record(" ", number=4),
        {**record(..., number=5), "nuts": "EL303"},
        {**record(None, number=6), "nuts": "ITC4C"},
        {**record(None, number=7), "nuts": "10115"},  # a postcode, not a NUTS code
    )
    rows, rejected = parsed(payload)
    assert [(row["beneficiary_name"], row["country_code"]) for row in rows] == [
        ("Comune 1", "IT"),
        ("Comune 5", "GR"),
        ("Comune 6", "IT"),
    ]
    assert [(r.where, r.reason) for r in rejected] == [
        (
            f"record {n}",
            "country_field country: no country, no NUTS code in location_code and no country_code for the entry",
        )
        for n in (2, 3, 4, 7)
    ]
    rows, rejected = parsed(payload, {**OPTIONS, "country_code": "it"})
    assert not rejected and [row["country_code"] for row in rows] == ["IT", "IT", "IT", "IT", "GR", "IT", "IT"]


def test_a_country_that_is_no_text_is_rejected() -> None:
    rows, rejected = parsed(page(record(39, number=1), record(["Italy"], number=2), record("Malta", number=3)))
    assert [row["country_code"] for row in rows] == ["MT"]
    assert [r.reason for r in rejected] == [
        "country_field country: a int is not a country name",
        "country_field country: a list is not a country name",
    ]


def test_country_names_adds_to_the_table() -> None:
    options = {**OPTIONS, "country_names": {"Atlantis": "xa", "Italia": "IT"}}
    rows, rejected = parsed(page(record("Atlantis", number=1), record("italia", number=2)), options)
    assert not rejected and [row["country_code"] for row in rows] == ["XA", "IT"]
    assert country_table(options)["atlantis"] == "XA"


@pytest.mark.parametrize("path", ["", 3, ["country"]])
def test_a_country_field_that_is_no_path_is_a_registry_error(path: object) -> None:
    with pytest.raises(ValueError, match="country_field must be a dotted path"):
        list(parse(page(record("Italy")), {**OPTIONS, "country_field": path}))


@pytest.mark.parametrize("names", [["Italy"], {"Italy": "ITA"}, {"Italy": 1}])
def test_a_country_names_option_that_is_no_mapping_to_codes_is_a_registry_error(names: object) -> None:
    with pytest.raises(ValueError, match="country_names must map"):
        list(parse(page(record("Italy")), {**OPTIONS, "country_names": names}))


def test_a_country_field_in_no_record_is_noted_and_the_nuts_codes_say_the_countries() -> None:
    items = list(parse(page({**record(..., number=1), "nuts": "FR101"}, record(..., number=2)), OPTIONS))
    assert items[0] == Note(
        "country_field country",
        "in no record of the page: countries from the NUTS codes (location_code), else country_code",
    )
    assert [item[11] for item in items if isinstance(item, tuple)] == ["FR"]
    assert [item.where for item in items if isinstance(item, Rejected)] == ["record 2"]


def test_without_a_country_field_every_row_has_the_entrys_country_code() -> None:
    options = {k: v for k, v in OPTIONS.items() if k != "country_field"} | {"country_code": "IT"}
    rows, rejected = parsed(page(record("France", "Milano")), options)
    assert not rejected and [(row["country_code"], row["city_name"]) for row in rows] == [("IT", "Milan")]


def test_keys_notes_and_order_are_those_of_the_page_without_countries() -> None:
    records = [record("Italy", number=n) for n in (1, 2, 1)] + [
        {"beneficiary": "x", "amount": "?!", "country": "Italy"}
    ]
    with_country = list(parse(page(*records), {**OPTIONS, "decimal": "auto"}))
    without_field = {k: v for k, v in OPTIONS.items() if k != "country_field"}
    without = list(parse(page(*records), {**without_field, "country_code": "IT", "decimal": "auto"}))
    assert with_country == without
    keys = [item[0] for item in with_country if isinstance(item, tuple)]
    assert len(keys) == 3 and keys[2] == f"{keys[0]}#2"  # a repeated operation, suffixed as without countries
    assert [item.where for item in with_country if isinstance(item, Rejected)] == ["record 4"]


@pytest.mark.parametrize("source_id", ["funding_cohesion_eu_operations", "funding_cohesion_2014_2020"])
def test_the_cohesion_entries_take_each_records_country(source_id: str) -> None:
    source = REGISTRY.sources[source_id]
    assert source.parse["country_field"] == "country"
    assert "country_code" not in source.parse
    assert "country" not in (source.collect.get("params") or {}) and source.collect["params"]["$order"] == ":id"
    rows, rejected = parsed(SAMPLE.read_bytes(), source.parse)
    assert not rejected
    assert sorted(row["country_code"] for row in rows) == ["FR"] * 2 + ["IT"] * 7
    lyon = next(row for row in rows if row["beneficiary_name"] == "Ville de Lyon")
    assert (lyon["country_code"], lyon["location_code"]) == ("FR", "FRK26")
