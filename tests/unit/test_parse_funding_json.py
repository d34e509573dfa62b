"""funding_json: Socrata pages (text values) and a JSON:API-style API (exact numbers), mapped by options."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from observatory.parse import Note, ParseError, Rejected, parser_for
from observatory.parse.funding_json import parse
from observatory.warehouse.raw_tables import RAW_TABLES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "funding"
COLUMNS = RAW_TABLES["funding_operation"].column_names

SOCRATA = {
    "fields": {
        "beneficiary_name": "beneficiary_name",
        "operation_title": "operation_name",
        "start_date": "operation_start_date",
        "end_date": "operation_end_date",
        "amount": "total_eligible_expenditure",
        "cofinancing_rate": "eu_co_financing_rate",
        "location_code": "postcode",
        "location_name": "location",
        "fund": "fund",
        "theme": "category_of_intervention",
        "programme": "programme",
    },
    "currency": "EUR",
    "country_code": "IT",
    "decimal": ".",
    "date_format": "%Y-%m-%dT%H:%M:%S.%f",
}
AMIF_API = {
    "records_path": "data",
    "fields": {
        "beneficiary_name": "attributes.beneficiary",
        "operation_title": "attributes.title",
        "start_date": "attributes.start",
        "end_date": "attributes.end",
        "amount": "attributes.union_contribution",
        "cofinancing_rate": "attributes.cofinancing",
        "location_name": "attributes.municipality",
        "fund": "attributes.fund",
    },
    "currency": "EUR",
    "country_code": "GR",
    "programme": "AMIF national programme Greece 2014-2020",
}


def rows(name: str, options: dict) -> list[dict]:
    return only_rows(parse((FIXTURES / name).read_bytes(), options))


def only_rows(parsed) -> list[dict]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in parsed if isinstance(row, tuple)]


def test_registered_as_format() -> None:
    assert parser_for("funding_json").RAW_TABLE == "funding_operation"


def test_socrata_page_text_values() -> None:
    milan, brescia = rows("cohesion_socrata_page1.json", SOCRATA)
    assert milan["beneficiary_name"] == "Comune di Milano"
    assert (milan["amount"], milan["currency"], milan["cofinancing_rate"]) == (
        Decimal("1250000.50"),
        "EUR",
        Decimal(50),
    )
    assert (milan["start_date"], milan["end_date"]) == (date(2016, 3, 1), date(2018, 12, 31))
    assert (milan["location_code"], milan["city_name"], milan["geonames_id"]) == ("20121", "Milan", 3173435)
    assert (milan["country_code"], milan["fund"], milan["programme"]) == ("IT", "ESF", "POR Lombardia FSE 2014-2020")
    assert milan["theme"].startswith("109 - Active inclusion")
    # a field the API leaves out is NULL
    assert (brescia["end_date"], brescia["amount"], brescia["city_name"]) == (None, Decimal("87340.05"), "Brescia")
    assert len({milan["operation_key"], brescia["operation_key"]}) == 2


def test_json_numbers_are_exact_and_nested_paths_work() -> None:
    athens, thessaloniki = rows("amif_api_page1.json", AMIF_API)
    assert athens["amount"] == Decimal("1234567.89")
    assert thessaloniki["amount"] == Decimal("300000.10")  # 300000.1 as a float would not be exact
    assert athens["cofinancing_rate"] == Decimal(75)
    assert (athens["city_name"], athens["country_code"], athens["fund"]) == ("Athens", "GR", "AMIF")
    assert athens["programme"] == "AMIF national programme Greece 2014-2020"
    [red_cross] = rows("amif_api_page2.json", AMIF_API)
    assert (red_cross["amount"], red_cross["location_name"], red_cross["city_name"]) == (Decimal(95000), None, None)


def test_same_operation_in_csv_and_json_gets_the_same_key() -> None:
    from observatory.parse.funding_csv import parse as parse_csv

    payload = b'[{"who": "A", "what": "B", "from": "2020-01-31", "eur": 10.5}]'
    fields = {"beneficiary_name": "who", "operation_title": "what", "start_date": "from", "amount": "eur"}
    [from_json] = [row for row in parse(payload, {"fields": fields}) if isinstance(row, tuple)]
    [from_csv] = [
        row
        for row in parse_csv(b'who,what,from,eur\nA,B,2020-01-31,"10,50"\n', {"columns": fields})
        if isinstance(row, tuple)
    ]
    assert from_json[0] == from_csv[0]


@pytest.mark.parametrize(
    ("payload", "options", "message"),
    [
        (b"{not json", {}, "not a UTF-8 JSON payload"),
        (b'{"data": {}}', {"records_path": "data"}, "no array of records at 'data'"),
        (b"[1, 2]", {}, "record 1 is a int, not an object"),
        (b'[{"who": "A"}]', {"fields": {"beneficiary_name": "name"}}, r"fields \['beneficiary_name'\] not found"),
    ],
)
def test_bad_payloads(payload: bytes, options: dict, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        list(parse(payload, {"fields": {"beneficiary_name": "who"}, **options}))


@pytest.mark.parametrize(
    ("payload", "options", "rejected"),
    [
        (
            b'[{"who": ["A"]}, {"who": "B"}]',
            {"fields": {"beneficiary_name": "who"}},
            Rejected("record 1", "field 'beneficiary_name' (who): a list is not text or a number", '{"who": ["A"]}'),
        ),
        (
            b'[{"who": "A", "eur": "ten"}, {"who": "B", "eur": "10"}]',
            {"fields": {"beneficiary_name": "who", "amount": "eur"}},
            Rejected("record 1", "column 'amount', cell 'ten': not an amount: 'ten'", '{"who": "A", "eur": "ten"}'),
        ),
        (
            b'[7, {"who": "B"}]',
            {"fields": {"beneficiary_name": "who"}},
            Rejected("record 1", "a int, not an object", "7"),
        ),
    ],
)
def test_bad_record_rejects_only_itself(payload: bytes, options: dict, rejected: Rejected) -> None:
    parsed = list(parse(payload, options))
    assert [item for item in parsed if isinstance(item, Rejected)] == [rejected]
    assert [row["beneficiary_name"] for row in only_rows(parsed)] == ["B"]


def test_rates_as_fraction_numbers_and_dates_inferred_without_a_format() -> None:
    payload = (
        b'[{"who": "A", "rate": 0.75, "from": "2016-03-01T00:00:00.000", "to": "31/12/2018", "eur": 1250000.5},'
        b' {"who": "B", "rate": 0.8, "from": "2017-09-15T00:00:00.000", "to": "30/06/2019", "eur": "87.340,05"}]'
    )
    fields = {"beneficiary_name": "who", "cofinancing_rate": "rate", "start_date": "from", "end_date": "to"}
    parsed = list(parse(payload, {"fields": {**fields, "amount": "eur"}}))
    a, b = only_rows(parsed)
    assert (a["cofinancing_rate"], b["cofinancing_rate"]) == (Decimal(75), Decimal(80))
    assert (a["start_date"], a["end_date"], b["end_date"]) == (date(2016, 3, 1), date(2018, 12, 31), date(2019, 6, 30))
    assert (a["amount"], b["amount"]) == (Decimal("1250000.50"), Decimal("87340.05"))
    assert any(isinstance(n, Note) and n.where == "column cofinancing_rate" for n in parsed)


def test_empty_page_and_missing_fields_option() -> None:
    assert list(parse(b"[]", {"fields": {"beneficiary_name": "who"}})) == []
    with pytest.raises(ValueError, match="'fields'"):
        list(parse(b"[]", {}))
