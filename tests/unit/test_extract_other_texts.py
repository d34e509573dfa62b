"""Extraction beyond the seed reports: Dutch statutory text, continental number formats, more layouts."""

from __future__ import annotations

from pathlib import Path

from observatory.extract import extract_facts
from observatory.extract.language import detect_language

PROJECT = Path(__file__).resolve().parents[2]
STATUTE = PROJECT / "tests" / "eval" / "documents" / "nl_beleidsregels_amif_isf_2014-2020_BWBR0036630.md"


def of_kind(text: str, kind: str, *keys: str, year: int | None = None) -> list[tuple]:
    return [
        (fact.text, *(fact.attributes.get(key) for key in keys))
        for fact in extract_facts(text, document_year=year)
        if fact.kind == kind
    ]


def test_dutch_statute_amounts_dates_place_and_no_false_cities() -> None:
    text = STATUTE.read_text(encoding="utf-8")
    assert detect_language(text) == "nl"
    amounts = of_kind(text, "money", "amount", "currency")
    assert amounts[:2] == [("€\xa025.000", 25000, "EUR"), ("€\xa00,19", 0.19, "EUR")]
    assert [amount for _, amount, _ in amounts[2:]] == [20000, 20000, 250000, 250000, 100000]
    assert ("18\xa0mei 2015", "2015-05-18") in of_kind(text, "date", "start_date")
    assert of_kind(text, "city", "name", "geonames_id") == [("’s-Gravenhage", "The Hague", 2747373)]
    assert of_kind(text, "count") == [] and of_kind(text, "event") == []  # English-grammar rules stay off
    codes = [code for _, code in of_kind(text, "programme", "code")]
    assert codes[:2] == ["AMIF", "ISF"]  # "Fonds voor asiel, migratie en integratie", "Fonds voor interne veiligheid"


def test_continental_thousands_and_scales() -> None:
    assert of_kind("De subsidie bedraagt € 14.967.473 en € 1.500 per deelnemer.", "money", "amount") == [
        ("€ 14.967.473", 14967473),
        ("€ 1.500", 1500),
    ]
    assert of_kind("a budget of €1.125 million", "money", "amount") == [("€1.125 million", 1125000)]
    assert of_kind("Up to EUR 30 000, covering costs", "money", "amount", "qualifier") == [
        ("Up to EUR 30 000", 30000, "up to")
    ]
    assert of_kind("ruim 2,5 miljoen euro", "money", "amount", "currency") == [("2,5 miljoen euro", 2500000, "EUR")]


def test_currency_codes_from_iso_4217_but_not_english_words() -> None:
    assert of_kind("a budget of HRK 2.5 million and SEK 4 million", "money", "currency") == [
        ("HRK 2.5 million", "HRK"),
        ("SEK 4 million", "SEK"),
    ]
    assert of_kind("ALL 27 member states and the TOP 10 cities", "money") == []


def test_counts_are_whole_numbers_from_two() -> None:
    assert of_kind("as set out in section 4.1 rules and 1 city, while two language cafés opened", "count", "value") == [
        ("two language cafés", 2)
    ]
    assert of_kind("2.5 million people arrived", "count", "value") == [("2.5 million people", 2500000)]


def test_foreign_and_bare_months() -> None:
    assert of_kind("Besluit van 26 maart 2015 en 3 März 2020, 1 avril 2021", "date", "start_date") == [
        ("26 maart 2015", "2015-03-26"),
        ("3 März 2020", "2020-03-03"),
        ("1 avril 2021", "2021-04-01"),
    ]
    assert of_kind("Delegates travelled to Croatia in September.", "date", "start_date", "end_date", year=2024) == [
        ("September", "2024-09-01", "2024-09-30")
    ]
    assert of_kind("Payments in February.", "date", "end_date", year=2024) == [("February", "2024-02-29")]
    assert of_kind("May I ask? In May 2020 we met.", "date", "precision") == [("May 2020", "month")]


def test_country_endonyms_are_not_towns() -> None:
    assert of_kind("Reizen binnen Nederland en naar Deutschland worden vergoed.", "city") == []


def test_a_word_the_document_also_writes_in_lower_case_needs_a_place_cue() -> None:
    text = "Kosten van materieel. De kosten worden vergoed. Wij reizen naar Kosten, Polen."
    assert [fact.start for fact in extract_facts(text) if fact.kind == "city"] == [text.rindex("Kosten")]


def test_a_date_next_to_a_name_is_a_place_cue() -> None:
    assert of_kind("- Summer school for councillors – 1-5 July 2024, Reading", "city", "geonames_id") == [
        ("Reading", 2639577)
    ]
    assert of_kind("Reading the report takes time.", "city") == []


def test_event_layouts() -> None:
    heading_above = "PEER REVIEW: LANGUAGE LEARNING\nHosted by the City of Utrecht, 14-15 May 2024\n"
    [event] = of_kind(heading_above, "event", "title", "city", "start_date")
    assert event[1:] == ("PEER REVIEW: LANGUAGE LEARNING", "Utrecht", "2024-05-14")
    [event] = of_kind("## Working group on housing – Lisbon, 6-7 December\n", "event", "city", "end_date", year=2023)
    assert event[1:] == ("Lisbon", "2023-12-07")
    [event] = of_kind(
        "The previous edition, held in Vienna on 9-10 November 2022, drew 41 participants.", "event", "title", "city"
    )
    assert event[1:] == ("previous edition", "Vienna")
    [event] = of_kind("The working group on housing will meet in Lisbon on 6-7 December.", "event", "title", year=2023)
    assert event[1] == "working group on housing meeting"
    [event] = of_kind("The partnership's coordinators will meet in Brussels on 12 October 2022.", "event", "city")
    assert event[1] == "Brussels"


def test_not_events() -> None:
    assert of_kind("On 17 December 2018, the UN General Assembly adopted the Compact.", "event") == []
    assert of_kind("The assembly heard that 1,200 people have arrived since March 2022.", "event") == []
