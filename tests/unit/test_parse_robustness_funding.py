"""Beneficiary lists as found in the wild, mutated: funding_csv and funding_json yield rows (or Rejected/Note records)
or raise ParseError, nothing else (hypothesis: byte flips, truncation, lost and doubled lines, stray bytes, another
encoding, random bytes). The originals are the shaped fixtures and the demo's sample files, with their options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutations import damaged
from test_parse_funding_csv import BERLIN, IRELAND, LUXEMBOURG, NORD_PAS_DE_CALAIS, NRW
from test_parse_funding_json import AMIF_API, SOCRATA

from observatory.config.registry import load_registry
from observatory.parse import Note, ParseError, Rejected, funding_csv, funding_json

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "fixtures" / "funding"
SAMPLES = PROJECT / "sample_data" / "funding"

FIXTURE_OPTIONS: dict[str, dict[str, Any]] = {  # the options the unit tests read each fixture with
    "esf_berlin_shape.csv": BERLIN,
    "esif_luxembourg_shape.csv": LUXEMBOURG,
    "erdf_ireland_counties_shape.csv": IRELAND,
    "feder_nord_pas_de_calais_shape.csv": NORD_PAS_DE_CALAIS,
    "esf_nrw_wild_cells_shape.csv": NRW,
    "cohesion_socrata_page1.json": SOCRATA,
    "cohesion_socrata_page2.json": SOCRATA,
    "amif_api_page1.json": AMIF_API,
    "amif_api_page2.json": AMIF_API,
}


def _sample_options() -> dict[Path, dict[str, Any]]:
    """The demo's funding files with the options their registry entries give them."""
    options = {}
    for source in load_registry(PROJECT / "sources.yml").sources.values():
        if source.kind == "funding":
            for name in (*source.urls, *source.paths):
                path = SAMPLES / name.split("/funding/", 1)[-1]
                if path.is_file():
                    options[path] = source.parse
    return options


ORIGINALS: dict[Path, dict[str, Any]] = {
    **{FIXTURES / name: options for name, options in FIXTURE_OPTIONS.items()},
    **_sample_options(),
}
CSV = sorted(path for path in ORIGINALS if path.suffix == ".csv")
JSON = sorted(path for path in ORIGINALS if path.suffix == ".json")


def test_every_fixture_and_sample_is_mutated() -> None:
    found = {*FIXTURES.glob("*.csv"), *FIXTURES.glob("*.json"), *SAMPLES.glob("*.csv")}
    assert found <= set(ORIGINALS), sorted(found - set(ORIGINALS))
    assert SAMPLES / "cohesiondata" / "resource" / "557j-pmg8.json" in ORIGINALS
    assert len(CSV) >= 8 and len(JSON) >= 5


@st.composite
def mutated(draw: st.DrawFn, originals: list[Path]) -> tuple[bytes, dict[str, Any]]:
    path = draw(st.sampled_from(originals))
    return damaged(draw, path.read_bytes()[:20_000], reencode=True), ORIGINALS[path]


def only_rows_or_parse_error(parser, payload: bytes, options: dict[str, Any]) -> None:
    try:
        for parsed in parser.parse(payload, options):
            assert isinstance(parsed, tuple | Rejected | Note), type(parsed)
    except ParseError:
        pass


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated(CSV))
def test_funding_csv_on_mutated_lists(case: tuple[bytes, dict[str, Any]]) -> None:
    only_rows_or_parse_error(funding_csv, *case)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=mutated(JSON))
def test_funding_json_on_mutated_pages(case: tuple[bytes, dict[str, Any]]) -> None:
    only_rows_or_parse_error(funding_json, *case)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.binary(max_size=2_000), path=st.sampled_from(CSV + JSON))
def test_funding_parsers_on_random_bytes(payload: bytes, path: Path) -> None:
    parser = funding_json if path.suffix == ".json" else funding_csv
    only_rows_or_parse_error(parser, payload, ORIGINALS[path])
