"""Money, shares and counts."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from observatory.extract import extract_facts
from observatory.extract.numbers import json_number, parse_number


def of_kind(text: str, kind: str) -> list[tuple[str, dict]]:
    return [(f.text, f.attributes) for f in extract_facts(text, document_year=2020) if f.kind == kind]


@pytest.mark.parametrize(
    ("text", "span", "amount", "currency"),
    [
        ("A budget of €200 million was agreed.", "€200 million", 200_000_000, "EUR"),
        ("EUR 1.5 billion is available.", "EUR 1.5 billion", 1_500_000_000, "EUR"),
        ("It costs 2,5 million euros.", "2,5 million euros", 2_500_000, "EUR"),
        ("A grant of USD 300,000 was made.", "USD 300,000", 300_000, "USD"),
        ("The UK gave £2bn.", "£2bn", 2_000_000_000, "GBP"),
        ("A total of 1 200 EUR per person.", "1 200 EUR", 1200, "EUR"),
        ("Exactly € 1.000.000,50 was spent.", "€ 1.000.000,50", 1_000_000.5, "EUR"),
    ],
)
def test_money_amount_currency_and_scale(text, span, amount, currency):
    [(found, attributes)] = of_kind(text, "money")
    assert (found, attributes["amount"], attributes["currency"]) == (span, amount, currency)


def test_money_amount_is_an_int_when_whole():
    [(_, attributes)] = of_kind("€200 million", "money")
    assert isinstance(attributes["amount"], int)


def test_money_qualifier():
    [(span, attributes)] = of_kind("Cities can get up to €5m each.", "money")
    assert (span, attributes["qualifier"]) == ("up to €5m", "up to")


def test_euro_in_a_compound_word_is_not_money():
    assert of_kind("A network of 20 Euro-Mediterranean cities.", "money") == []


@pytest.mark.parametrize(
    ("text", "span", "value", "qualifier", "of"),
    [
        (
            "They ask for a minimum of 5% (€200 million) of the thematic facility to be allocated.",
            "a minimum of 5%",
            5,
            "minimum",
            "the thematic facility",
        ),
        ("10% of the thematic facility for integration.", "10%", 10, None, "the thematic facility"),
        ("At least 30% of ESF+ resources go to inclusion.", "At least 30%", 30, "at least", "ESF+ resources"),
        ("Unemployment fell by 2.5 percentage points.", "2.5 percentage points", 2.5, None, None),
        (
            "Half of the estimated 272 million migrants were women.",
            "Half",
            50,
            None,
            "the estimated 272 million migrants",
        ),
        ("Roughly two thirds of the cities applied.", "Roughly two thirds", 66.67, "about", "the cities"),
        ("Some 12% of its budget goes to housing.", "Some 12%", 12, "about", "its budget"),
        ("Today 1 in 5 refugees lives in a capital.", "1 in 5", 20, None, "refugees"),
        ("One in ten workers is a migrant.", "One in ten", 10, None, "workers"),
    ],
)
def test_shares(text, span, value, qualifier, of):
    [(found, attributes)] = of_kind(text, "share")
    assert (found, attributes["value"], attributes["qualifier"], attributes["of"]) == (
        span,
        value,
        qualifier,
        of,
    )


@pytest.mark.parametrize(
    ("text", "span", "value", "unit", "qualifier"),
    [
        ("In total 180 delegates met in the city.", "180 delegates", 180, "delegates", None),
        (
            "The visit drew more than 45 city representatives.",
            "more than 45 city representatives",
            45,
            "city representatives",
            "more than",
        ),
        ("The report is based on 22 signatory cities.", "22 signatory cities", 22, "signatory cities", None),
        ("We received 396 applications.", "396 applications", 396, "applications", None),
        ("The plan has ten action areas.", "ten action areas", 10, "action areas", None),
        (
            "At least twenty-five municipalities joined.",
            "At least twenty-five municipalities",
            25,
            "municipalities",
            "at least",
        ),
        (
            "An estimated 1.5 million refugees arrived.",
            "An estimated 1.5 million refugees",
            1_500_000,
            "refugees",
            "estimated",
        ),
        ("Over 1,200 households were visited.", "Over 1,200 households", 1200, "households", "over"),
        ("Some 300 people attended.", "Some 300 people", 300, "people", "about"),
    ],
)
def test_counts(text, span, value, unit, qualifier):
    [(found, attributes)] = of_kind(text, "count")
    assert (found, attributes["value"], attributes["unit"], attributes["qualifier"]) == (
        span,
        value,
        unit,
        qualifier,
    )


@pytest.mark.parametrize(
    "text",
    [
        "The two-day conference ended.",
        "The project lasted three years.",
        "At the 8<sup>th</sup> Integrating Cities Conference we met.",
        "1. Socio-economic integration of young migrants",
        "The Cities and Migrants 3 report is out.",
        "Wednesday 10 discussions will focus on housing.",
        "Article 5 sets objectives.",
        "It is 5% of the budget.",
        "One of the priorities is housing.",
        "The session runs 10:00 - 12:30 daily.",
        "Server 93.186.135.91 runs version 1.2.3 modules.",
    ],
)
def test_not_counts(text):
    assert of_kind(text, "count") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,500,000", 1_500_000),
        ("1.500.000", 1_500_000),
        ("2.5", 2.5),
        ("2,5", 2.5),
        ("1.000.000,50", 1_000_000.5),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "span", "value", "unit"),
    [
        ("The city hosts 1.2m people.", "1.2m people", 1_200_000, "people"),
        ("In 2015 1.2m asylum seekers came.", "1.2m asylum seekers", 1_200_000, "asylum seekers"),
        ("About 3.5 million people live there.", "About 3.5 million people", 3_500_000, "people"),
        ("12k people marched.", "12k people", 12_000, "people"),
        ("The festival drew 40K visitors.", "40K visitors", 40_000, "visitors"),
        ("The 1.2mn residents voted.", "1.2mn residents", 1_200_000, "residents"),
        ("The city hosts 16,572 refugees.", "16,572 refugees", 16_572, "refugees"),
        ("In Berlin 16,572 refugees arrived.", "16,572 refugees", 16_572, "refugees"),  # a place, not a name
        ("In Berlin 300 refugees arrived.", "300 refugees", 300, "refugees"),
        ("The city received 16 572 applications.", "16 572 applications", 16_572, "applications"),
        ("Riga’s 600 volunteers helped.", "600 volunteers", 600, "volunteers"),
    ],
)
def test_counts_with_scales_and_thousands(text, span, value, unit):
    [(found, attributes)] = of_kind(text, "count")
    assert (found, attributes["value"], attributes["value_max"], attributes["unit"]) == (span, value, None, unit)


@pytest.mark.parametrize(
    ("text", "span", "low", "high", "qualifier"),
    [
        ("Sweden took 25-30,000 refugees.", "25-30,000 refugees", 25_000, 30_000, None),
        ("About 25-30,000 migrants arrived.", "About 25-30,000 migrants", 25_000, 30_000, "about"),
        ("Some 250–300,000 refugees came.", "Some 250–300,000 refugees", 250_000, 300_000, "about"),
        ("2-3 million people fled.", "2-3 million people", 2_000_000, 3_000_000, None),
        ("1.5-2m people fled.", "1.5-2m people", 1_500_000, 2_000_000, None),
        ("12-15k visitors came.", "12-15k visitors", 12_000, 15_000, None),
        ("10-12 participants attended.", "10-12 participants", 10, 12, None),
        ("We expect 10 to 15 cities.", "10 to 15 cities", 10, 15, None),
        ("Between 20 and 30 cities joined.", "Between 20 and 30 cities", 20, 30, None),
        ("between 25,000 and 30,000 refugees", "between 25,000 and 30,000 refugees", 25_000, 30_000, None),
        ("Some 200-3,000 people came.", "Some 200-3,000 people", 200, 3_000, "about"),  # 200,000 > 3,000: as written
    ],
)
def test_count_ranges(text, span, low, high, qualifier):
    [(found, attributes)] = of_kind(text, "count")
    assert (found, attributes["value"], attributes["value_max"], attributes["qualifier"]) == (
        span,
        low,
        high,
        qualifier,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It grew from 20 to 30 cities.", [("30 cities", 30, None)]),  # a change, not a range
        ("It rose from 20,000 to 30,000 members.", [("30,000 members", 30_000, None)]),
        ("Between 30 and 20 cities joined.", [("20 cities", 20, None)]),
        ("The course is for 18-25 year-olds.", []),
        ("COVID-19 patients were treated.", []),
        ("The 2014-2020 programmes ended.", []),
        ("A 10m high wall and 10m high walls.", []),
        ("The population is 1.2m.", []),
    ],
)
def test_not_ranges_or_not_counts(text, expected):
    assert [(span, a["value"], a["value_max"]) for span, a in of_kind(text, "count")] == expected


@pytest.mark.parametrize(
    "text",
    [
        "9" * 40 + " people came.",
        "9" * 5000 + " people came.",
        "€" + "9" * 30 + " trillion was spent.",
        "9" * 25 + "% of cities",
        "1 in " + "9" * 5000 + " refugees",
        "1" * 100 + "-" + "2" * 100 + " people",
    ],
)
def test_huge_numbers_make_no_fact_and_never_raise(text):
    facts = extract_facts(text, document_year=2020)
    assert [f for f in facts if f.kind in ("count", "money", "share")] == []
    orjson.dumps([f.to_record("x") for f in facts])


def test_json_numbers_stay_within_64_bits():
    assert json_number(Decimal(10) ** 30) == 1e30
    assert json_number(Decimal(7)) == 7 and isinstance(json_number(Decimal(7)), int)
    assert parse_number("9" * 41) is None
