"""funding_csv: the three real list shapes (invented content), encodings, number rules, errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from observatory.parse import ParseError, parser_for
from observatory.parse.funding_csv import RAW_TABLE, operation_key, parse, parse_number
from observatory.warehouse.raw_tables import RAW_TABLES

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "fixtures" / "funding"
SAMPLES = PROJECT / "sample_data" / "funding"  # the demo's funding files
COLUMNS = RAW_TABLES[RAW_TABLE].column_names

BERLIN = {
    "columns": {
        "beneficiary_name": "Name des Begünstigten",
        "operation_title": "Bezeichnung des Vorhabens",
        "operation_summary": "Zusammenfassung des Vorhabens",
        "start_date": "Datum des Beginns",
        "end_date": "Datum des Endes",
        "amount": "Gesamtbetrag förderfähiger Ausgaben",
        "cofinancing_rate": "Kofinanzierungssatz",
        "location_name": "PLZ Begünstigter",
        "location_code": "Land",
        "theme": "Themenfeld",
    },
    "currency": "EUR",
    "country_code": "DE",
    "fund": "ESF",
    "decimal": ",",
    "date_format": "%d.%m.%Y",
}
LUXEMBOURG = {
    "columns": {
        "fund": "fonds",
        "start_date": "start_date",
        "end_date": "end_date",
        "amount": "eu_amount",
        "cofinancing_rate": "co_financing",
        "operation_title": "title",
        "location_name": "commune(s)",
        "beneficiary_name": "porteur_de_projet",
        "theme": "objectifs_thématiques",
    },
    "currency": "EUR",
    "country_code": "LU",
    "decimal": "auto",
    "year_only_dates": True,
}
WALES = {
    "columns": {
        "beneficiary_name": "Lead Beneficiary",
        "operation_title": "Operation Title",
        "amount": "EU Funds Awarded",
        "fund": "Fund",
        "location_name": "Region",
    },
    "country_code": "GB",
    "decimal": ",",
}
BRUSSELS = {
    "columns": {
        "beneficiary_name": "Bénéficiaire",
        "operation_title": "Intitulé du projet",
        "start_date": "Début",
        "end_date": "Fin",
        "amount": "Montant FEDER",
        "cofinancing_rate": "Taux de cofinancement",
        "location_name": "Commune",
    },
    "delimiter": ";",
    "country_code": "BE",
    "fund": "ERDF",
}


def rows(name: str, options: dict, folder: Path = FIXTURES) -> list[dict]:
    """Parse a fixture (or a sample file) into dicts keyed by raw-table column."""
    return [dict(zip(COLUMNS, row, strict=True)) for row in parse((folder / name).read_bytes(), options)]


def test_registered_as_format() -> None:
    assert parser_for("funding_csv").RAW_TABLE == "funding_operation"


def test_berlin_german_formats() -> None:
    berlin = rows("esf_berlin_shape.csv", BERLIN)
    assert len(berlin) == 8
    first = berlin[0]
    assert first["beneficiary_name"] == "Brückenbau Bildung gGmbH"
    assert first["amount"] == Decimal("91100.16") and isinstance(first["amount"], Decimal)
    assert first["currency"] == "EUR"
    assert first["cofinancing_rate"] == Decimal("49.92")
    assert (first["start_date"], first["end_date"]) == (date(2016, 4, 4), date(2016, 9, 30))
    assert (first["location_code"], first["location_name"]) == ("DE300", "10997")
    assert (first["country_code"], first["fund"]) == ("DE", "ESF")
    assert first["theme"].startswith("117 - Förderung des gleichen Zugangs")
    assert first["operation_summary"].endswith("Qualifizierung vor Beschäftigung.")
    assert "\n\nDer Zuwendungszweck" in first["operation_summary"]
    assert [r["amount"] for r in berlin[2:]] == [
        Decimal("847060.00"),
        Decimal("63558.00"),
        Decimal("1234567.89"),
        Decimal("4250.50"),
        Decimal("27813.25"),
        Decimal("312004.07"),
    ]
    assert [r["cofinancing_rate"] for r in berlin[2:5]] == [Decimal("39.96"), Decimal(50), Decimal(50)]
    assert berlin[2]["location_name"] == "13088 Berlin"
    assert sum("Geflüchtete" in r["operation_title"] for r in berlin) == 2


def test_keys_unique_stable_and_hashed() -> None:
    berlin = rows("esf_berlin_shape.csv", BERLIN)
    keys = [r["operation_key"] for r in berlin]
    assert len(set(keys)) == len(keys) == 8
    assert all(len(k) == 32 for k in keys)
    assert keys == [r["operation_key"] for r in rows("esf_berlin_shape.csv", BERLIN)]
    first = berlin[0]
    assert first["operation_key"] == operation_key(first)


def test_luxembourg_mixed_decimals_line_endings_and_empty_cells() -> None:
    lux = rows("esif_luxembourg_shape.csv", LUXEMBOURG)
    assert len(lux) == 8
    assert [r["amount"] for r in lux] == [
        Decimal("288.11"),
        Decimal("81839.00"),
        Decimal("492087.75"),
        Decimal("131400.00"),
        Decimal("572937.30"),
        Decimal("249950.00"),
        Decimal("191000.00"),
        None,
    ]
    assert [r["currency"] for r in lux] == ["EUR"] * 7 + [None]
    assert lux[0]["start_date"] == date(2010, 1, 1) and lux[0]["end_date"] == date(2013, 12, 31)
    assert (lux[3]["start_date"], lux[3]["end_date"]) == (date(2016, 12, 1), date(2017, 12, 31))
    assert lux[5]["start_date"] == date(2015, 11, 1)
    assert lux[4]["cofinancing_rate"] == Decimal(45) and lux[0]["cofinancing_rate"] is None
    assert lux[1]["location_name"] == "Luxembourg\nEsch/Alzette"
    assert lux[1]["beneficiary_name"] == "LIST\nLISER"
    assert lux[4]["beneficiary_name"].count("\n") == 2 and "\r" not in lux[4]["beneficiary_name"]
    assert lux[4]["operation_title"] == "EduNet Grande Région"
    assert [r["fund"] for r in lux[2:4]] == ["FEDER", "FSE"]
    assert lux[0]["operation_summary"] is None and lux[0]["theme"] == "Recherche et innovation"


def test_year_only_date_rejected_unless_allowed() -> None:
    options = {**LUXEMBOURG, "year_only_dates": False}
    with pytest.raises(ParseError, match=r"line 2, column 'start_date'.*'2010'"):
        rows("esif_luxembourg_shape.csv", options)


def test_wales_pound_symbol_and_dot_thousands() -> None:
    wales = rows("esif_wales_shape.csv", WALES, SAMPLES)
    assert len(wales) == 7
    assert wales[0]["amount"] == Decimal(4578474) and wales[0]["currency"] == "GBP"
    assert wales[-1]["amount"] == Decimal("112259800.00")
    assert wales[4]["amount"] == Decimal(97715)
    assert [r["location_name"] for r in wales[:3]] == ["East Wales"] * 3
    assert wales[4]["operation_title"] == "Community Hubs Programme"
    assert wales[2]["beneficiary_name"] == "WG - Department for Communities, Housing and Tackling Poverty"
    assert wales[0]["start_date"] is None and wales[0]["fund"] == "ESF"


def test_cp1252_semicolon_fallback() -> None:
    brussels = rows("erdf_brussels_cp1252_semicolon.csv", BRUSSELS, SAMPLES)
    assert len(brussels) == 3
    assert brussels[1]["operation_title"] == "Économie sociale – ateliers de formation"
    assert brussels[2]["beneficiary_name"] == "Atelier « Molenbeek » asbl"
    assert brussels[0]["amount"] == Decimal("1250000.00") and brussels[0]["currency"] == "EUR"
    assert brussels[1]["cofinancing_rate"] == Decimal(40)
    assert brussels[2]["start_date"] == date(2008, 9, 15)
    assert {r["fund"] for r in brussels} == {"ERDF"}


def test_configured_encoding_is_strict() -> None:
    with pytest.raises(ParseError, match="not valid utf-8"):
        rows("erdf_brussels_cp1252_semicolon.csv", {**BRUSSELS, "encoding": "utf-8"}, SAMPLES)


def test_bom_and_crlf_header() -> None:
    payload = '\ufeffName,Amount\r\nA,"1.000,50 €"\r\n'.encode()
    options = {"columns": {"beneficiary_name": "name", "amount": "AMOUNT"}}
    [row] = parse(payload, options)
    assert row[1] == "A" and row[6] == Decimal("1000.50") and row[7] == "EUR"


def test_schema_drift_names_missing_column() -> None:
    options = {**BERLIN, "columns": {**BERLIN["columns"], "amount": "Bewilligte Summe"}}
    with pytest.raises(ParseError, match=r"'amount'.*'Bewilligte Summe'.*headers found.*Kofinanzierungssatz"):
        rows("esf_berlin_shape.csv", options)


def test_bad_amount_names_line_after_multiline_cells() -> None:
    text = (FIXTURES / "esf_berlin_shape.csv").read_text(encoding="utf-8")
    broken = text.replace('"4.250,50 €"', '"vier Tausend €"')
    with pytest.raises(ParseError, match=r"line 26, column 'amount', cell 'vier Tausend €'"):
        list(parse(broken.encode(), BERLIN))


def test_bad_date_names_line_and_column() -> None:
    payload = b"who,what,from\nA,B,31.02.2020\n"
    options = {"columns": {"beneficiary_name": "who", "operation_title": "what", "start_date": "from"}}
    with pytest.raises(ParseError, match=r"line 2, column 'start_date'.*31\.02\.2020"):
        list(parse(payload, options))


def test_ragged_row_is_an_error() -> None:
    with pytest.raises(ParseError, match="line 3: 3 fields, header has 2"):
        list(parse(b"who,what\nA,B\nC,D,E\n", {"columns": {"beneficiary_name": "who"}}))


def test_malformed_csv_is_a_parse_error() -> None:
    payload = b'who,what\nA,"' + b"x" * 200_000 + b'"\n'
    with pytest.raises(ParseError, match="malformed CSV near line 2"):
        list(parse(payload, {"columns": {"beneficiary_name": "who"}}))


def test_duplicate_rows_kept_with_suffix() -> None:
    payload = b"who,what,amount\nA,B,10\nA,B,10\nC,D,5\nA,B,10\n"
    options = {"columns": {"beneficiary_name": "who", "operation_title": "what", "amount": "amount"}}
    keys = [row[0] for row in parse(payload, options)]
    base = keys[0]
    assert keys[1:] == [f"{base}#2", keys[2], f"{base}#3"]
    assert "#" not in keys[2]


def test_blank_records_skipped() -> None:
    payload = b"who,what\nA,B\n,\n\nC,D\n"
    assert len(list(parse(payload, {"columns": {"beneficiary_name": "who"}}))) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("288.11", Decimal("288.11")),  # one separator + 2 digits → decimal mark
        ("572937,3", Decimal("572937.3")),  # one separator + 1 digit → decimal mark
        ("191.000", Decimal(191000)),  # one separator + 3 digits → thousands
        ("823,171", Decimal(823171)),
        ("4.578.474", Decimal(4578474)),  # repeated separator → thousands
        ("1,234,567", Decimal(1234567)),
        ("1.273.194,00", Decimal("1273194.00")),  # both: the last one is the mark
        ("1,273,194.5", Decimal("1273194.5")),
        ("81839", Decimal(81839)),
        ("-12,50", Decimal("-12.50")),
    ],
)
def test_auto_decimal_rule(text: str, expected: Decimal) -> None:
    assert parse_number(text, "auto") == expected


@pytest.mark.parametrize("text", ["1.2345", "12.", "1.23.4", "1,2.3,4", "12a"])
def test_auto_decimal_rejects_ambiguous(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text, "auto")


def test_configured_decimal_is_strict() -> None:
    assert parse_number("4.578.474", ",") == Decimal(4578474)
    assert parse_number("191.000", ",") == Decimal(191000)
    assert parse_number("1,234.50", ".") == Decimal("1234.50")
    with pytest.raises(ValueError, match="grouping"):
        parse_number("288.11", ",")
    with pytest.raises(ValueError, match="grouping"):
        parse_number("91.100,16", ".")


def test_amount_rounded_to_cents() -> None:
    payload = b'who,amount\nA,"12,345"\nB,0.005\n'
    options = {"columns": {"beneficiary_name": "who", "amount": "amount"}, "decimal": "."}
    assert [row[6] for row in parse(payload, options)] == [Decimal("12345.00"), Decimal("0.01")]


def test_beneficiary_city_from_location_else_default_city() -> None:
    berlin = rows("esf_berlin_shape.csv", {**BERLIN, "default_city": "Berlin"})
    # postcodes name no city: the programme's city; "13088 Berlin" names it itself
    assert {(r["city_name"], r["geonames_id"]) for r in berlin} == {("Berlin", 2950159)}
    assert [r["city_name"] for r in rows("esf_berlin_shape.csv", BERLIN)][:3] == [None, None, "Berlin"]
    lux = rows("esif_luxembourg_shape.csv", LUXEMBOURG)
    # a bare "Luxembourg" is the city here (the prose rules drop it as a country name); a list of
    # communes gives its first; "Perl (D)" lies in Germany, outside the source's country; the village
    # Esch-sur-Sûre is no GeoNames city and must not become Esch-sur-Alzette
    assert [(r["location_name"].split("\n")[0], r["city_name"]) for r in lux] == [
        ("Luxembourg", "Luxembourg"),
        ("Luxembourg", "Luxembourg"),
        ("Luxembourg", "Luxembourg"),
        ("Wiltz", "Wiltz"),
        ("Perl (D)", None),
        ("Esch-sur-Sûre", None),
        ("Luxembourg", "Luxembourg"),
        ("Differdange", "Differdange"),
    ]
    assert [r["city_name"] for r in rows("esif_wales_shape.csv", WALES, SAMPLES)] == [None] * 7  # regions, not cities
    brussels = rows("erdf_brussels_cp1252_semicolon.csv", BRUSSELS, SAMPLES)
    assert [(r["city_name"], r["geonames_id"]) for r in brussels] == [
        ("Anderlecht", 2803201),
        ("Saint-Gilles", 2787413),
        ("Molenbeek-Saint-Jean", 2791018),
    ]


def test_programme_from_column_or_option() -> None:
    lux = rows(
        "esif_luxembourg_shape.csv", {**LUXEMBOURG, "columns": {**LUXEMBOURG["columns"], "programme": "programme"}}
    )
    assert [r["programme"] for r in lux[:5]] == ["Compétitivité Régionale et Emploi (2007-2013)"] * 3 + [
        "Investissement pour la croissance et l'emploi (2014-2020)",
        "INTERREG",
    ]
    berlin = rows("esf_berlin_shape.csv", {**BERLIN, "programme": "ESF Berlin 2014-2020"})
    assert {r["programme"] for r in berlin} == {"ESF Berlin 2014-2020"}
