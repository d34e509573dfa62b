"""funding_csv: the real list shapes (invented content), encodings, number rules, errors, and the cells found in the
wild (one bad cell rejects its record, not the file; decimal style, date format and rate scale decided per column)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from observatory.parse import Note, ParseError, Rejected, parser_for
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
    """Parse a fixture (or a sample file) into dicts keyed by raw-table column (rows only, not notes or rejects)."""
    return only_rows(parse((folder / name).read_bytes(), options))


def only_rows(parsed) -> list[dict]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in parsed if isinstance(row, tuple)]


def others(parsed) -> list[Rejected | Note]:
    return [item for item in parsed if not isinstance(item, tuple)]


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
    parsed = list(parse((FIXTURES / "esif_luxembourg_shape.csv").read_bytes(), LUXEMBOURG))
    lux = only_rows(parsed)
    # decimal: auto decides once for the column: decimal comma (492087,75; 572937,3; 249.950,00 €; 191.000 €),
    # so 288.11 (a decimal point, or 288.110 with its last zero lost?) is rejected, not read as 288.11
    [rejected] = [item for item in parsed if isinstance(item, Rejected)]
    assert rejected.where == "line 2" and rejected.reason.startswith("column 'amount', cell '288.11': does not fit")
    assert rejected.raw.startswith("FEDER,2010,2013,288.11,,,Aquasens,")
    assert (
        Note(
            "column amount",
            "decimal comma, '.' groups thousands (from the whole column: 4 cell(s) read only so, "
            "1 only the other way, 2 either way); a cell that does not fit is rejected",
        )
        in parsed
    )
    assert len(lux) == 7
    assert [r["amount"] for r in lux] == [
        Decimal("81839.00"),
        Decimal("492087.75"),
        Decimal("131400.00"),
        Decimal("572937.30"),
        Decimal("249950.00"),
        Decimal("191000.00"),
        None,
    ]
    assert [r["currency"] for r in lux] == ["EUR"] * 6 + [None]
    assert lux[0]["start_date"] == date(2011, 1, 1) and lux[0]["end_date"] == date(2015, 12, 31)
    assert (lux[2]["start_date"], lux[2]["end_date"]) == (date(2016, 12, 1), date(2017, 12, 31))
    assert lux[4]["start_date"] == date(2015, 11, 1)
    assert lux[3]["cofinancing_rate"] == Decimal(45) and lux[0]["cofinancing_rate"] is None
    assert lux[0]["location_name"] == "Luxembourg\nEsch/Alzette"
    assert lux[0]["beneficiary_name"] == "LIST\nLISER"
    assert lux[3]["beneficiary_name"].count("\n") == 2 and "\r" not in lux[3]["beneficiary_name"]
    assert lux[3]["operation_title"] == "EduNet Grande Région"
    assert [r["fund"] for r in lux[1:3]] == ["FEDER", "FSE"]
    assert lux[0]["operation_summary"] is None and lux[0]["theme"] == "Energie et réduction de CO2"


def test_year_only_date_null_with_a_note_unless_allowed() -> None:
    options = {**LUXEMBOURG, "year_only_dates": False}
    parsed = list(parse((FIXTURES / "esif_luxembourg_shape.csv").read_bytes(), options))
    assert (
        Note(
            "line 3",
            "column 'start_date', cell '2011': a bare year (the source does not set year_only_dates); read as NULL",
        )
        in parsed
    )
    lux = only_rows(parsed)
    assert len(lux) == 7 and (lux[0]["start_date"], lux[0]["end_date"]) == (None, None)
    assert lux[2]["start_date"] == date(2016, 12, 1)


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
    [row] = [row for row in parse(payload, options) if isinstance(row, tuple)]
    assert row[1] == "A" and row[6] == Decimal("1000.50") and row[7] == "EUR"


def test_schema_drift_names_missing_column() -> None:
    options = {**BERLIN, "columns": {**BERLIN["columns"], "amount": "Bewilligte Summe"}}
    with pytest.raises(ParseError, match=r"'amount'.*'Bewilligte Summe'.*headers found.*Kofinanzierungssatz"):
        rows("esf_berlin_shape.csv", options)


def test_bad_amount_rejects_its_record_named_by_line_after_multiline_cells() -> None:
    text = (FIXTURES / "esf_berlin_shape.csv").read_text(encoding="utf-8")
    broken = text.replace('"4.250,50 €"', '"vier Tausend €"')
    parsed = list(parse(broken.encode(), BERLIN))
    [rejected] = others(parsed)
    assert rejected.where == "line 26"
    assert rejected.reason == "column 'amount', cell 'vier Tausend €': not an amount: 'vierTausend'"
    assert rejected.raw.startswith("LernLotsen Berlin GmbH,Willkommen in Arbeit") and "vier Tausend €" in rejected.raw
    assert len(only_rows(parsed)) == 7  # the rest loads


def test_bad_date_is_null_with_a_note_naming_line_and_column() -> None:
    payload = b"who,what,from\nA,B,31.02.2020\n"
    options = {"columns": {"beneficiary_name": "who", "operation_title": "what", "start_date": "from"}}
    parsed = list(parse(payload, options))
    [row] = only_rows(parsed)
    assert row["start_date"] is None and row["beneficiary_name"] == "A"
    [cell_note] = [n for n in others(parsed) if n.where == "line 2"]
    assert cell_note.note.startswith("column 'start_date', cell '31.02.2020': no date (day is out of range for month")


def test_ragged_row_rejects_that_record() -> None:
    parsed = list(parse(b"who,what\nA,B\nC,D,E\nF,G,,\n", {"columns": {"beneficiary_name": "who"}}))
    assert others(parsed) == [Rejected("line 3", "3 fields, header has 2", "C,D,E")]
    assert [r["beneficiary_name"] for r in only_rows(parsed)] == ["A", "F"]  # trailing empty fields are no harm


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
    assert [r["programme"] for r in lux[:4]] == ["Compétitivité Régionale et Emploi (2007-2013)"] * 2 + [
        "Investissement pour la croissance et l'emploi (2014-2020)",
        "INTERREG",
    ]
    berlin = rows("esf_berlin_shape.csv", {**BERLIN, "programme": "ESF Berlin 2014-2020"})
    assert {r["programme"] for r in berlin} == {"ESF Berlin 2014-2020"}


# --- cells found in the wild: each class rejects at most its record, and the column decides how it is read ---

IRELAND = {  # an Irish regional assembly's list shape: counties, € with comma thousands, rates as fractions
    "columns": {
        "beneficiary_name": "Beneficiary Name",
        "operation_title": "Operation Name",
        "start_date": "Operation Start Date",
        "end_date": "Operation End Date",
        "amount": "Total Eligible Expenditure",
        "cofinancing_rate": "EU Co-financing Rate",
        "location_name": "County",
        "theme": "Category of Intervention",
    },
    "country_code": "IE",
    "currency": "EUR",
    "fund": "ERDF",
}
NORD_PAS_DE_CALAIS = {  # a French regional list: regions, spaces grouping thousands, 2-digit years, month names
    "columns": {
        "beneficiary_name": "Bénéficiaire",
        "operation_title": "Intitulé de l'opération",
        "start_date": "Date de début",
        "end_date": "Date de fin",
        "amount": "Coût total éligible",
        "cofinancing_rate": "Taux UE",
        "location_name": "Région",
    },
    "delimiter": ";",
    "country_code": "FR",
    "fund": "FEDER",
}
NRW = {  # a German list with the odd cells of real ones: "81.839,00.- €", "31. Dez 18", "k.A."
    "columns": {
        "beneficiary_name": "Name des Begünstigten",
        "operation_title": "Bezeichnung des Vorhabens",
        "start_date": "Datum des Beginns",
        "end_date": "Datum des Endes",
        "amount": "Gesamtbetrag förderfähiger Ausgaben",
        "cofinancing_rate": "Kofinanzierungssatz",
        "location_name": "PLZ Begünstigter",
    },
    "country_code": "DE",
    "fund": "ESF",
    "location_type": "postcode",
}
# a Croatian list as its managing authority's Excel saves it: Windows-1250, ';', kuna amounts, dates with a final dot
CROATIA_TEXT = (
    "Korisnik;Naziv operacije;Datum početka;Datum završetka;Ukupni prihvatljivi izdaci;Stopa sufinanciranja;Mjesto\r\n"
    "Grad Čakovec;Integracija azilanata u lokalnu zajednicu;1.9.2016.;31.8.2018.;5.172.338,50 kn;85%;Čakovec\r\n"
    "Udruga Žene u Đakovu;Učenje hrvatskog jezika za tražitelje azila;15.3.2017.;14.3.2019.;81.839,00 kn;85%;Đakovo\r\n"
    "Općina Šolta;Savjetovalište za migrante;1.2.2018.;-;-;85%;Šolta\r\n"
    "Hrvatski Crveni križ;Psihosocijalna pomoć izbjeglicama;13.1.2017.;31.12.2019.;1.250.000,00 kn;0,85;Zagreb\r\n"
)
CROATIA = {
    "columns": {
        "beneficiary_name": "Korisnik",
        "operation_title": "Naziv operacije",
        "start_date": "Datum početka",
        "end_date": "Datum završetka",
        "amount": "Ukupni prihvatljivi izdaci",
        "cofinancing_rate": "Stopa sufinanciranja",
        "location_name": "Mjesto",
    },
    "delimiter": ";",
    "country_code": "HR",
    "fund": "ESF",
}
# a Greek list in Windows-1253, regions in the location column
GREECE_TEXT = (
    "Δικαιούχος;Τίτλος πράξης;Ημερομηνία έναρξης;Ημερομηνία λήξης;Προϋπολογισμός;Περιοχή\r\n"
    "Δήμος Αθηναίων;Κέντρο Συντονισμού για Μετανάστες και Πρόσφυγες;01/05/2019;30/04/2021;1.234.567,89 €;Αττική\r\n"
    "Δήμος Θεσσαλονίκης;Μαθήματα ελληνικών για νεοαφιχθέντες;01/02/2020;31/01/2022;300.000,10 €;Κεντρική Μακεδονία\r\n"
)
GREECE = {
    "columns": {
        "beneficiary_name": "Δικαιούχος",
        "operation_title": "Τίτλος πράξης",
        "start_date": "Ημερομηνία έναρξης",
        "end_date": "Ημερομηνία λήξης",
        "amount": "Προϋπολογισμός",
        "location_name": "Περιοχή",
    },
    "delimiter": ";",
    "country_code": "GR",
    "fund": "AMIF",
    "location_type": "region",
}


def test_odd_amount_and_date_cells_read_and_one_bad_cell_rejects_only_its_record() -> None:
    parsed = list(parse((FIXTURES / "esf_nrw_wild_cells_shape.csv").read_bytes(), NRW))
    cologne, bonn, dusseldorf = only_rows(parsed)
    assert (cologne["amount"], cologne["currency"]) == (Decimal("81839.00"), "EUR")  # "81.839,00.- €"
    assert (cologne["start_date"], cologne["end_date"]) == (date(2017, 1, 1), date(2018, 12, 31))  # "31. Dez 18"
    assert bonn["amount"] == Decimal(12500)  # "12.500,- €"
    assert (dusseldorf["amount"], dusseldorf["currency"]) == (Decimal(1250000), "EUR")  # "1.250.000 EUR"
    assert dusseldorf["start_date"] == date(2016, 9, 1)  # "1.9.2016"
    rejected = [item for item in parsed if isinstance(item, Rejected)]
    assert rejected == [
        Rejected(
            "line 4",
            "column 'amount', cell 'vier Tausend €': not an amount: 'vierTausend'",
            "Diakonie Aachen,Jobcoaching für junge Migranten,15.09.2017,k.A.,vier Tausend €,50%,52062 Aachen",
        )
    ]
    assert Note("column end_date", "1 × 'k.A.': no value, read as NULL") in parsed
    # postcodes: the place name beside one is resolved, a bare postcode names no city
    assert [(r["location_name"], r["city_name"]) for r in (cologne, dusseldorf)] == [
        ("50667 Köln", "Köln"),
        ("40210", None),
    ]


def test_cp1250_detected_kuna_amounts_placeholder_and_fraction_rates() -> None:
    parsed = list(parse(CROATIA_TEXT.encode("cp1250"), CROATIA))
    notes = [item for item in parsed if isinstance(item, Note)]
    assert notes[0].where == "file" and notes[0].note.startswith("encoding: not UTF-8; detected cp1250")
    cakovec, dakovo, solta, red_cross = only_rows(parsed)
    assert (cakovec["beneficiary_name"], cakovec["location_name"]) == ("Grad Čakovec", "Čakovec")
    assert (cakovec["amount"], cakovec["currency"]) == (Decimal("5172338.50"), "HRK")
    assert (cakovec["start_date"], cakovec["end_date"]) == (date(2016, 9, 1), date(2018, 8, 31))
    assert (cakovec["city_name"], dakovo["city_name"]) == ("Čakovec", "Đakovo")
    assert dakovo["operation_title"] == "Učenje hrvatskog jezika za tražitelje azila"
    assert (solta["amount"], solta["currency"], solta["end_date"]) == (None, None, None)  # "-": no value
    assert Note("column amount", "1 × '-': no value, read as NULL") in notes
    assert (red_cross["amount"], red_cross["start_date"]) == (Decimal("1250000.00"), date(2017, 1, 13))
    # "85%" is a percent; the one bare rate, 0,85, is a fraction
    assert [r["cofinancing_rate"] for r in (cakovec, red_cross)] == [Decimal(85), Decimal(85)]
    assert not [item for item in parsed if isinstance(item, Rejected)]


def test_cp1253_detected_and_regions_never_resolved() -> None:
    parsed = list(parse(GREECE_TEXT.encode("cp1253"), GREECE))
    assert parsed[0] == Note(
        "file", "encoding: not UTF-8; detected cp1253 (the most plausible; Greek; charset-normalizer)"
    )
    athens, thessaloniki = only_rows(parsed)
    assert athens["beneficiary_name"] == "Δήμος Αθηναίων"
    assert (athens["amount"], athens["currency"]) == (Decimal("1234567.89"), "EUR")
    assert (thessaloniki["location_name"], thessaloniki["city_name"], thessaloniki["geonames_id"]) == (
        "Κεντρική Μακεδονία",
        None,
        None,
    )
    assert thessaloniki["end_date"] == date(2022, 1, 31)


def test_configured_encoding_wins_over_detection() -> None:
    payload = CROATIA_TEXT.encode("cp1250")
    with pytest.raises(ParseError, match="header 'Datum početka' not found; headers found: .*'Datum poèetka'"):
        list(parse(payload, {**CROATIA, "encoding": "cp1252"}))  # as configured, even if wrong
    with pytest.raises(ParseError, match="not valid utf-8"):
        list(parse(payload, {**CROATIA, "encoding": "utf-8"}))


def test_utf16_with_byte_order_mark() -> None:
    payload = "who;amount\r\nA;1.000,50 €\r\n".encode("utf-16")
    parsed = list(parse(payload, {"columns": {"beneficiary_name": "who", "amount": "amount"}, "delimiter": ";"}))
    assert Note("file", "encoding: UTF-16 (byte order mark)") in parsed
    assert only_rows(parsed)[0]["amount"] == Decimal("1000.50")


def test_rates_as_fractions_decimal_point_column_and_day_first_dates() -> None:
    parsed = list(parse((FIXTURES / "erdf_ireland_counties_shape.csv").read_bytes(), IRELAND))
    ireland = only_rows(parsed)
    assert [r["cofinancing_rate"] for r in ireland] == [Decimal(n) for n in (50, 40, 50, 100, 60, 50)]
    assert (
        Note(
            "column cofinancing_rate",
            "rates are fractions (all 6 bare values at most 1, some fractional such as '0.5'): ×100 to percent",
        )
        in parsed
    )
    assert [r["amount"] for r in ireland] == [
        Decimal("1234567.89"),
        Decimal("81839.00"),
        Decimal("288.11"),
        Decimal("12000.00"),  # "€12,000" in a decimal-point column
        Decimal("450250.50"),
        None,  # "-"
    ]
    assert ireland[1]["start_date"] == date(2016, 9, 1)  # "1-9-2016" in a day-first column
    assert ireland[4]["end_date"] is None  # 31/09/19: no such day
    assert (
        Note(
            "line 6",
            "column 'end_date', cell '31/09/19': no date (day is out of range for month, reading "
            "%d/%m/%y); read as NULL",
        )
        in parsed
    )
    assert (
        Note(
            "column start_date",
            "dates read day-first (reads 6 cells, the other way 3); formats: %d/%m/%Y 5, %d-%m-%Y 1 of 6 cells",
        )
        in parsed
    )


def test_counties_and_regions_do_not_become_towns_with_location_type_region() -> None:
    as_cities = rows("erdf_ireland_counties_shape.csv", IRELAND)
    assert [r["city_name"] for r in as_cities] == ["Cork", "Galway", "Limerick", "Kildare", None, "Dublin"]
    as_regions = rows("erdf_ireland_counties_shape.csv", {**IRELAND, "location_type": "region"})
    assert {(r["city_name"], r["geonames_id"]) for r in as_regions} == {(None, None)}
    assert [r["location_name"] for r in as_regions] == ["Cork", "Galway", "Limerick", "Kildare", "Donegal", "Dublin"]
    nord = rows("feder_nord_pas_de_calais_shape.csv", NORD_PAS_DE_CALAIS)
    assert nord[0]["city_name"] == "Calais"  # what a region becomes when read as a city
    nord = rows("feder_nord_pas_de_calais_shape.csv", {**NORD_PAS_DE_CALAIS, "location_type": "region"})
    assert [(r["location_name"], r["city_name"]) for r in nord] == [
        ("Nord-Pas de Calais", None),
        ("Nord-Pas de Calais", None),
        ("Picardie", None),
        ("Nord-Pas de Calais", None),
    ]
    wales = rows("esif_wales_shape.csv", {**WALES, "location_type": "region"}, SAMPLES)
    assert [r["city_name"] for r in wales] == [None] * 7 and wales[0]["location_name"] == "East Wales"
    # a region-typed list of a city-state still gets its configured city
    berlin = rows("esf_berlin_shape.csv", {**BERLIN, "location_type": "region", "default_city": "Berlin"})
    assert {r["city_name"] for r in berlin} == {"Berlin"}


def test_french_region_list_spaces_two_digit_years_and_month_names() -> None:
    parsed = list(parse((FIXTURES / "feder_nord_pas_de_calais_shape.csv").read_bytes(), NORD_PAS_DE_CALAIS))
    lille, solfa, amiens, calais = only_rows(parsed)
    assert lille["beneficiary_name"] == "Ville de Lille"  # the BOM is not part of the first header
    assert (lille["amount"], lille["cofinancing_rate"]) == (Decimal("1234567.89"), Decimal(50))
    assert (lille["start_date"], lille["end_date"]) == (date(2016, 9, 1), date(2018, 8, 31))
    assert (amiens["start_date"], amiens["end_date"]) == (date(2017, 1, 1), date(2018, 12, 31))
    assert (calais["end_date"], calais["cofinancing_rate"]) == (None, None)  # "-"
    assert solfa["amount"] == Decimal("81839.00")
    assert Note("column cofinancing_rate", "1 × '-': no value, read as NULL") in parsed


def test_english_long_date_among_bare_years() -> None:
    text = (FIXTURES / "esif_luxembourg_shape.csv").read_text(encoding="utf-8")
    changed = text.replace("FEDER,2011,2015,81839,", 'FEDER,"Tuesday, October 18, 2011",2015,81839,')
    lux = only_rows(parse(changed.encode(), LUXEMBOURG))
    assert (lux[0]["start_date"], lux[0]["end_date"]) == (date(2011, 10, 18), date(2015, 12, 31))
    assert lux[1]["start_date"] == date(2009, 1, 1)


def test_month_first_column_decided_by_its_cells() -> None:
    payload = b"who,from,to\nA,10/13/2016,12/31/2017\nB,1-9-2016,6/30/2018\nC,13/10/2016,\n"
    options = {"columns": {"beneficiary_name": "who", "start_date": "from", "end_date": "to"}}
    parsed = list(parse(payload, options))
    a, b, c = only_rows(parsed)
    assert (a["start_date"], b["start_date"], b["end_date"]) == (
        date(2016, 10, 13),
        date(2016, 1, 9),
        date(2018, 6, 30),
    )
    assert c["start_date"] is None
    assert (
        Note(
            "line 4",
            "column 'start_date', cell '13/10/2016': reads only day-first (2016-10-13); the column "
            "is month-first; read as NULL",
        )
        in parsed
    )
    assert (
        Note(
            "column start_date",
            "dates read month-first (as the other date column); formats: %m/%d/%Y 1, %m-%d-%Y 1 of 3 cells; "
            "1 cell(s) not read: NULL",
        )
        in parsed
    )


def test_decimal_auto_decides_once_per_column() -> None:
    payload = b'who,amount\nA,288.11\nB,81839\nC,"1,234.50"\nD,191.000\nE,"12,000"\n'
    parsed = list(parse(payload, {"columns": {"beneficiary_name": "who", "amount": "amount"}}))
    assert [(r["beneficiary_name"], r["amount"]) for r in only_rows(parsed)] == [
        ("A", Decimal("288.11")),
        ("B", Decimal(81839)),
        ("C", Decimal("1234.50")),
        ("E", Decimal(12000)),
    ]
    # 191.000 is not 191 in a decimal-point column, nor silently 191000: rejected
    [rejected] = others(parsed)[1:]
    assert (rejected.where, rejected.reason) == (
        "line 5",
        "column 'amount', cell '191.000': does not fit the column's decimal point (3 decimals)",
    )
    assert others(parsed)[0] == Note(
        "column amount",
        "decimal point, ',' groups thousands (from the whole column: 3 cell(s) read only so, 1 only the other way, "
        "1 either way); a cell that does not fit is rejected",
    )


def test_explicit_options_still_win() -> None:
    payload = b'who,amount,rate,from\nA,191.000,0.4,"Tuesday, October 18, 2011"\nB,2.500,0.5,18.10.2011\n'
    columns = {"beneficiary_name": "who", "amount": "amount", "cofinancing_rate": "rate", "start_date": "from"}
    options = {"columns": columns, "decimal": ".", "rate_scale": "percent", "date_format": "%d.%m.%Y"}
    parsed = list(parse(payload, options))
    a, b = only_rows(parsed)
    assert (a["amount"], a["cofinancing_rate"], a["start_date"]) == (Decimal("191.00"), Decimal("0.4"), None)
    assert (b["amount"], b["cofinancing_rate"], b["start_date"]) == (
        Decimal("2.50"),
        Decimal("0.5"),
        date(2011, 10, 18),
    )
    assert [n.where for n in others(parsed)] == ["line 2"]  # no decision noted: the options took them
    inferred = only_rows(parse(payload, {"columns": columns}))
    assert [r["amount"] for r in inferred] == [Decimal(191000), Decimal(2500)]
    assert [r["cofinancing_rate"] for r in inferred] == [Decimal(40), Decimal(50)]
    assert [r["start_date"] for r in inferred] == [date(2011, 10, 18), date(2011, 10, 18)]


def test_rate_above_100_is_null_with_a_note() -> None:
    payload = b"who,rate\nA,120%\nB,50%\n"
    parsed = list(parse(payload, {"columns": {"beneficiary_name": "who", "cofinancing_rate": "rate"}}))
    assert [r["cofinancing_rate"] for r in only_rows(parsed)] == [None, Decimal(50)]
    assert Note("line 2", "column 'cofinancing_rate', cell '120%': rate above 100%; read as NULL") in parsed


def test_header_below_title_lines() -> None:
    payload = 'Liste der Vorhaben\nStand: 31.12.2018\n\nwho,amount\nA,"1.000,50 €"\n'.encode()
    parsed = list(parse(payload, {"columns": {"beneficiary_name": "who", "amount": "amount"}}))
    assert Note("file", "header row on line 4; 2 line(s) above it skipped") in parsed
    assert only_rows(parsed)[0]["amount"] == Decimal("1000.50")


def test_unreadable_cells_noted_one_by_one_up_to_a_limit() -> None:
    lines = "".join(f"A{n},someday\n" for n in range(25))
    parsed = list(parse(f"who,to\n{lines}".encode(), {"columns": {"beneficiary_name": "who", "end_date": "to"}}))
    assert len(only_rows(parsed)) == 25
    cell_notes = [n for n in others(parsed) if n.where.startswith("line ")]
    assert len(cell_notes) == 20
    assert others(parsed)[-1] == Note(
        "column end_date", "5 more cells read as NULL (not noted one by one): 22, 23, 24, 25, 26"
    )


def test_repeated_header_row_is_rejected() -> None:
    parsed = list(parse(b"who,what\nA,B\nwho,what\nC,D\n", {"columns": {"beneficiary_name": "who"}}))
    assert others(parsed) == [Rejected("line 3", "the header row again", "who,what")]
    assert len(only_rows(parsed)) == 2


def test_utf8_with_a_damaged_byte_rejects_that_record_not_the_file() -> None:
    text = (FIXTURES / "esf_berlin_shape.csv").read_text(encoding="utf-8")
    payload = text.encode().replace("Sprachcafé Wedding".encode(), b"Sprachcaf\xe9 Wedding")  # one cp1252 byte
    parsed = list(parse(payload, BERLIN))
    assert parsed[0] == Note(
        "file", "encoding: UTF-8 with damaged bytes: 1 invalid byte sequence(s), the records holding them rejected"
    )
    [rejected] = [item for item in parsed if isinstance(item, Rejected)]
    assert rejected.reason == "holds bytes that are not UTF-8 (shown as U+FFFD)"
    assert "Sprachcaf\ufffd Wedding" in rejected.raw
    berlin = only_rows(parsed)
    assert len(berlin) == 7 and berlin[0]["beneficiary_name"] == "Brückenbau Bildung gGmbH"  # no mojibake


def test_cp1252_without_country_and_cp1250_without_country() -> None:
    brussels = rows("erdf_brussels_cp1252_semicolon.csv", {**BRUSSELS, "country_code": None}, SAMPLES)
    assert brussels[1]["operation_title"] == "Économie sociale – ateliers de formation"
    croatia = only_rows(parse(CROATIA_TEXT.encode("cp1250"), {**CROATIA, "country_code": None}))
    assert croatia[0]["beneficiary_name"] == "Grad Čakovec"  # charset-normalizer's own choice: Croatian text
