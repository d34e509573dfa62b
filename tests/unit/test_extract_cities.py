"""City mentions: spelling variants, markup, ordinary words and person names."""

from __future__ import annotations

import pytest

from observatory.extract import extract_facts


def cities(text: str) -> list[tuple[str, str, str | None]]:
    return [
        (fact.text, fact.attributes["name"], fact.attributes["country_code"])
        for fact in extract_facts(text)
        if fact.kind == "city"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The network met in Malmö last year.", [("Malmö", "Malmö", "SE")]),
        ("Delegates came from Malmo.", [("Malmo", "Malmö", "SE")]),
        ("Münster and Munster are one city.", [("Münster", "Münster", "DE"), ("Munster", "Münster", "DE")]),
        (
            "Göteborg hosted it, as Gothenburg did before.",
            [("Göteborg", "Gothenburg", "SE"), ("Gothenburg", "Gothenburg", "SE")],
        ),
        ("Den Haag signed the charter.", [("Den Haag", "The Hague", "NL")]),
        ("The Hague signed the charter.", [("The Hague", "The Hague", "NL")]),
        (
            "Gdansk and Thessaloniki joined.",
            [("Gdansk", "Gdańsk", "PL"), ("Thessaloniki", "Thessaloníki", "GR")],
        ),
    ],
)
def test_spelling_variants_resolve_to_one_city(text, expected):
    assert cities(text) == expected


def test_geonames_id_and_country_are_reported():
    [fact] = [f for f in extract_facts("The meeting was held in Malmö.") if f.kind == "city"]
    assert fact.attributes["geonames_id"] == 2692969
    assert fact.to_record("x.txt")["country_code"] == "SE"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Brighton & Hove City Council joined.", [("Brighton & Hove", "Brighton", "GB")]),
        ("Brighton and Hove joined.", [("Brighton and Hove", "Brighton", "GB")]),
        ("The Brussels Capital Region funds it.", [("Brussels Capital Region", "Brussels", "BE")]),
        ("The Brussels-Capital Region funds it.", [("Brussels-Capital Region", "Brussels", "BE")]),
        (
            "The Newcastle-Gateshead welcome centre.",
            [("Newcastle", "Newcastle upon Tyne", "GB"), ("Gateshead", "Gateshead", "GB")],
        ),
        (
            "Newcastle-upon-Tyne and Frankfurt am Main.",
            [
                ("Newcastle-upon-Tyne", "Newcastle upon Tyne", "GB"),
                ("Frankfurt am Main", "Frankfurt am Main", "DE"),
            ],
        ),
        ("Delegates from St. Gallen attended.", [("St. Gallen", "Sankt Gallen", "CH")]),
    ],
)
def test_multi_word_and_hyphenated_names(text, expected):
    assert cities(text) == expected


@pytest.mark.parametrize(
    ("text", "expected_names"),
    [
        ("<ul><li>Malmö</li><li>Toulouse</li></ul>", ["Malmö", "Toulouse"]),
        ("| City | Year |\n|---|---|\n| Lyon | 2020 |\n| Porto | 2021 |", ["Lyon", "Porto"]),
        ("- **Toulouse**: housing first\n- *Leipzig*: jobs", ["Toulouse", "Leipzig"]),
        ('<p>Visit <a href="https://example.org/paris">Vienna</a></p>', ["Vienna"]),
        ("Partners: Rotterdam, Ghent &amp; Lille.", ["Rotterdam", "Gent", "Lille"]),
    ],
)
def test_names_inside_markup(text, expected_names):
    assert [name for _, name, _ in cities(text)] == expected_names


@pytest.mark.parametrize(
    "text",
    [
        "Nice to meet you all.",
        "It was a nice idea.",
        "Reading the report is useful.",
        "Take a Bath before the session.",
        "Split the budget in two.",
        "Mobile phones help newcomers.",
        "Best practices were shared.",
        "Sabina said the plan works.",
        "A person called Paris joined the team.",
        "Paris Smith said that funding is key.",
        "Mayor Paris welcomed them.",
        "Florence Nightingale was a nurse.",
        "Milan Kundera wrote novels.",
        "The panel: Luisa Santos, Deputy Director General.",
        "Helena Dalli, Commissioner for Equality, spoke.",
        "Roma communities face discrimination.",
        "The March meeting was postponed.",
        "THE AGENCY PUBLISHED ITS REPORT",
        "Sale of goods is taxed.",
        "Oral presentations follow.",
        "Tours of the centre are offered.",
        "Ursula Van der Leyen spoke.",
    ],
)
def test_ordinary_words_and_person_names_are_not_cities(text):
    assert cities(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The workshop in Nice was a success.", [("Nice", "Nice", "FR")]),
        ("Nice, France hosted the forum.", [("Nice", "Nice", "FR")]),
        ("The meeting was held in Reading.", [("Reading", "Reading", "GB")]),
        ("The University of Bath hosted it.", [("Bath", "Bath", "GB")]),
        ("In Split, Croatia, the council adopted a strategy.", [("Split", "Split", "HR")]),
        (
            "Cities such as Nice, Lyon and Marseille signed.",
            [
                ("Nice", "Nice", "FR"),
                ("Lyon", "Lyon", "FR"),
                ("Marseille", "Marseille", "FR"),
            ],
        ),
        ("The summit in Paris was a success.", [("Paris", "Paris", "FR")]),
        ("Paris is the capital of France.", [("Paris", "Paris", "FR")]),
    ],
)
def test_ordinary_words_are_cities_with_a_place_cue(text, expected):
    assert cities(text) == expected


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Valencia joined the network.", "ES"),
        ("Cordoba joined the network.", "ES"),
        ("Birmingham joined the network.", "GB"),
        ("The mayor of Rabat spoke.", "MA"),
        ("He travelled to Alexandria, Egypt.", "EG"),
        ("The port of Santos, Brazil, expanded.", "BR"),
        ("Reading, Pennsylvania, has a welcoming plan.", "US"),
    ],
)
def test_ambiguous_names_prefer_europe_unless_context_says_otherwise(text, country):
    [(_, _, found)] = cities(text)
    assert found == country


def test_small_town_needs_a_strong_cue():
    assert cities("Carola Gunnarsson, Mayor of Sala, spoke.") == [("Sala", "Sala", "SE")]
    assert cities("Wagner played.") == []


def test_unknown_town_after_mayor_of_is_an_unresolved_city():
    [fact] = [f for f in extract_facts("Speech by the Mayor of Raoued, Tunisia.") if f.kind == "city"]
    assert (fact.text, fact.attributes["geonames_id"], fact.attributes["resolved"]) == ("Raoued", None, False)


def test_all_capital_headings():
    assert cities("MILAN AND TURIN SIGN THE CHARTER") == [("MILAN", "Milan", "IT"), ("TURIN", "Turin", "IT")]
    assert cities("The AMIF and SIG acronyms.") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Riga’s mayor opened the forum.", [("Riga", "Riga", "LV")]),
        ("Helsinki's integration plan was adopted.", [("Helsinki", "Helsinki", "FI")]),
        ("Riga's mayor opened the forum.", [("Riga", "Riga", "LV")]),
        (
            "Gothenburg’s council and Malmö’s council met.",
            [("Gothenburg", "Gothenburg", "SE"), ("Malmö", "Malmö", "SE")],
        ),
        ("Milan's and Turin's mayors signed.", [("Milan", "Milan", "IT"), ("Turin", "Turin", "IT")]),
        ("Brussels’ mayor spoke.", [("Brussels", "Brussels", "BE")]),
        ("HELSINKI’S PLAN FOR NEWCOMERS", [("HELSINKI", "Helsinki", "FI")]),
        ("Georgia’s capital Tbilisi grew.", [("Tbilisi", "Tbilisi", "GE")]),  # a country's possessive is no city
        ("St. John's is in Canada.", [("St. John's", "St. John's", "CA")]),  # a name that ends in 's keeps it
    ],
)
def test_possessive_city_names(text, expected):
    assert cities(text) == expected


def test_possessive_of_an_ordinary_word_still_needs_a_place_cue():
    assert cities("Nice's beaches are long.") == []
    assert cities("The mayor of Nice's office replied.") == [("Nice", "Nice", "FR")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Aug 25th 2020BERLIN — The city council met.", [("BERLIN", "Berlin", "DE")]),
        ("Sep 3rd 2019PARIS The council met.", [("PARIS", "Paris", "FR")]),
        ("25/08/2020BERLIN", [("BERLIN", "Berlin", "DE")]),
        ("March 12th 2021Vienna hosted the forum.", [("Vienna", "Vienna", "AT")]),
        ("Aug 25th 2020\nBERLIN\nThe council met.", [("BERLIN", "Berlin", "DE")]),
        ("LONDON — The council met on 3 May 2021.", [("LONDON", "London", "GB")]),
        ("PARIS, 3 May 2021 - The council met.", [("PARIS", "Paris", "FR")]),
    ],
)
def test_dateline_cities_in_capitals(text, expected):
    assert cities(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "NICE — The council met on 3 May 2021.",  # an ordinary word in capitals stays out
        "Version 2020BERLINER is out.",  # not after a date
        "The Jinja2 templates.",
    ],
)
def test_capitals_or_glued_names_outside_a_dateline(text):
    assert cities(text) == []
