"""Markup masking, sentences, the Fact record and provenance of every fact."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatory.extract import Fact, extract_facts
from observatory.extract.facts import KINDS
from observatory.extract.markup import mask_markup
from observatory.extract.sentences import split_sentences

REPORTS = Path(__file__).resolve().parents[2] / "sample_data" / "reports"


def test_mask_keeps_length_and_blanks_markup():
    text = 'See <a href="http://example.org/Paris">here</a>, [link](#) &amp; https://example.org/Malmo now.'
    masked = mask_markup(text)
    assert len(masked) == len(text)
    assert "Paris" not in masked and "Malmo" not in masked and "href" not in masked
    assert "here" in masked and "link" in masked and "& " in masked


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def test_sentences_split_prose_headings_and_bullets():
    text = "## Title line\n\nFirst sentence, e.g. with Dr. Smith. Second one!\n- bullet one\n- bullet two\n"
    assert sentences(text) == [
        "## Title line",
        "First sentence, e.g. with Dr. Smith.",
        "Second one!",
        "- bullet one",
        "- bullet two",
    ]


def test_lowercase_line_continues_the_previous_line():
    assert sentences("Thematic Session - Private sector engagement\nof migrants in cities\n") == [
        "Thematic Session - Private sector engagement\nof migrants in cities"
    ]


def test_fact_is_frozen_and_its_record_is_flat_json():
    fact = Fact("money", "€5m", 4, 7, "Get €5m.", {"amount": 5000000, "currency": "EUR"})
    with pytest.raises(AttributeError):
        fact.kind = "count"  # type: ignore[misc]
    assert fact.to_record("a.txt") == {
        "doc": "a.txt",
        "kind": "money",
        "text": "€5m",
        "start": 4,
        "end": 7,
        "sentence": "Get €5m.",
        "amount": 5000000,
        "currency": "EUR",
    }


@pytest.mark.parametrize("path", sorted(REPORTS.glob("*.txt")), ids=lambda p: p.name)
def test_every_fact_points_into_the_text_and_its_sentence(path):
    text = path.read_text(encoding="utf-8")
    facts = extract_facts(text)
    assert facts
    for fact in facts:
        assert fact.kind in KINDS
        assert text[fact.start : fact.end] == fact.text
        assert fact.text in fact.sentence and fact.sentence in text
        json.dumps(fact.to_record(path.name))
    assert [f.start for f in facts] == sorted(f.start for f in facts)


_PIECES = st.sampled_from(
    [
        "Malmö",
        "Nice",
        "Paris",
        "Mayor of ",
        "in ",
        "the ",
        "Conference",
        "meeting",
        " on ",
        "May",
        "2019",
        "2021-2027",
        "1Q",
        "Jan-Dec",
        "€",
        "EUR",
        "million",
        "%",
        "of ",
        "more than ",
        "45",
        "1,500",
        "1.2.3",
        "93.186.135.91",
        "two",
        "cities",
        "AMIF",
        "ESF+",
        "UN-Habitat",
        "**",
        "<b>",
        "</b>",
        "[x](#)",
        "http://example.org/c",
        "&amp;",
        " - ",
        "–",
        ", ",
        ". ",
        ":",
        "\n",
        "\n\n",
        "- ",
        "### ",
        "09:30 - 10:00 ",
        "Wednesday 10",
        "(",
        ")",
        "Riga’s",
        "Helsinki's",
        "Aug 25th 2020",
        "BERLIN",
        "29 February",
        "7 February",
        "6/7",
        "25-30,000",
        "1.2m",
        "12k",
        "between ",
        " and ",
        " to ",
        "people",
        "9" * 45,
        "'s",
        "’",
        "\u00a0",
        "\u202f",
        "İ",
        "٣",
        "²",
        "🙂",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=40).map("".join),
    st.one_of(st.none(), st.integers(min_value=-10, max_value=10_010)),
)
def test_any_text_gives_facts_that_point_into_it(text, year):
    for fact in extract_facts(text, document_year=year):
        assert text[fact.start : fact.end] == fact.text
        assert fact.text in fact.sentence
        json.dumps(fact.to_record("x"))
        orjson.dumps(fact.to_record("x"))  # what the parsers store: 64-bit integers only


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\n\n",
        "\x00\x00",
        "e\u0301\u0301\u0301 combining",
        "\ufeffBOM",
        "1" * 50_000 + " million people",
        "a" * 50_000 + "@",
        " " * 50_000,
        "On 7 February 2020 in Berlin 25-30,000 people met. " * 400,  # one long line
    ],
    ids=lambda text: repr(text[:20]),
)
def test_odd_input_never_raises(text):
    for fact in extract_facts(text):
        orjson.dumps(fact.to_record("x"))


def test_lone_surrogates_never_raise():
    assert [f.text for f in extract_facts("Paris \ud800 hosted 25-30,000 people \udfff") if f.kind == "city"] == [
        "Paris"
    ]
