"""Programmes and organisations from the curated lists."""

from __future__ import annotations

import pytest

from observatory.extract import extract_facts


def found(text: str, kind: str, key: str) -> list[tuple[str, str]]:
    return [(f.text, f.attributes[key]) for f in extract_facts(text) if f.kind == kind]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Funded by the Asylum, Migration and Integration Fund (AMIF).",
            [
                ("Asylum, Migration and Integration Fund", "AMIF"),
                ("AMIF", "AMIF"),
            ],
        ),
        (
            "The Asylum Migration and Integration Fund pays.",
            [("Asylum Migration and Integration Fund", "AMIF")],
        ),
        (
            "The proposed Asylum and Migration Fund (AMF).",
            [("Asylum and Migration Fund", "AMIF"), ("AMF", "AMIF")],
        ),
        (
            "Coordination between AMF/ERDF/ESF+, ERASMUS+ and investEU.",
            [
                ("AMF", "AMIF"),
                ("ERDF", "ERDF"),
                ("ESF+", "ESF+"),
                ("ERASMUS+", "Erasmus+"),
                ("investEU", "InvestEU"),
            ],
        ),
        ("The ESF and the EaSI strand.", [("ESF", "ESF"), ("EaSI", "EaSI")]),
        (
            "Horizon 2020 and Horizon Europe projects.",
            [("Horizon 2020", "H2020"), ("Horizon Europe", "HorizonEurope")],
        ),
    ],
)
def test_programmes_with_codes_and_long_names(text, expected):
    assert found(text, "programme", "code") == expected


def test_programme_names_glued_to_other_words_do_not_match():
    assert found("The ESFA and AMIFS acronyms, and the word life.", "programme", "code") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The European Commission and DG HOME met the OECD.",
            [
                ("European Commission", "European Commission"),
                ("DG HOME", "DG Migration and Home Affairs"),
                ("OECD", "Organisation for Economic Co-operation and Development"),
            ],
        ),
        (
            "UN-Habitat, UNHCR and the UN General Assembly.",
            [
                ("UN-Habitat", "United Nations Human Settlements Programme"),
                ("UNHCR", "United Nations High Commissioner for Refugees"),
                ("UN General Assembly", "UN General Assembly"),
            ],
        ),
        (
            "EUROCITIES, Eurocities and EURO CITIES are one network.",
            [
                ("EUROCITIES", "Eurocities"),
                ("Eurocities", "Eurocities"),
                ("EURO CITIES", "Eurocities"),
            ],
        ),
        (
            "The European Committee of the Regions (CoR).",
            [
                ("European Committee of the Regions", "European Committee of the Regions"),
                ("CoR", "European Committee of the Regions"),
            ],
        ),
        ("Non-EU nationals and intra-EU mobility.", []),
    ],
)
def test_organisations(text, expected):
    assert found(text, "organisation", "name") == expected


def test_organisation_type_and_acronym():
    [fact] = [f for f in extract_facts("Members of UCLG.") if f.kind == "organisation"]
    assert fact.attributes == {
        "name": "United Cities and Local Governments",
        "acronym": "UCLG",
        "org_type": "city_network",
    }
