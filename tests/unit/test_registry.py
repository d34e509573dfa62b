"""The source registry: the project's own sources.yml is valid, and bad entries fail with a clear message."""

import json
from pathlib import Path

import pytest

from observatory.config.listing import source_lines
from observatory.config.registry import ALL_PROFILES, RegistryError, load_registry
from observatory.config.settings import Settings
from observatory.parse import FORMATS, parser_for
from observatory.quality.gate import load_suite, suite_path

PROJECT = Path(__file__).resolve().parents[2]


def test_project_registry_has_a_source_of_each_kind() -> None:
    registry = load_registry(PROJECT / "sources.yml")
    assert {source.kind for source in registry.sources.values()} == {"indicators", "reports", "events", "funding"}


@pytest.mark.parametrize(
    "source", load_registry(PROJECT / "sources.yml", profile=ALL_PROFILES).sources.values(), ids=lambda s: s.source_id
)
def test_every_source_has_a_parser_and_a_buildable_suite(source) -> None:
    assert parser_for(source.format).RAW_TABLE == FORMATS[source.format] == source.raw_table
    expectations_dir = PROJECT / "expectations"
    assert suite_path(source.suite, expectations_dir).exists()
    assert len(load_suite(source.suite, expectations_dir).expectations) >= 5


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yml"
    path.write_text(text)
    return path


GOOD = """
sources:
  demo_tsv:
    kind: indicators
    format: eurostat_tsv
    description: d
    publisher: Eurostat
    suite: eurostat_rates
    urls: ["${BASE_URL_FOR_TEST:-http://127.0.0.1:1}/x.tsv"]
    freshness: {warn_after_hours: 1, error_after_hours: 2}
"""


def test_env_references_resolve_with_default(tmp_path, monkeypatch) -> None:
    source = load_registry(write(tmp_path, GOOD))["demo_tsv"]
    monkeypatch.delenv("BASE_URL_FOR_TEST", raising=False)
    assert source.resolved_urls() == ["http://127.0.0.1:1/x.tsv"]
    monkeypatch.setenv("BASE_URL_FOR_TEST", "http://localhost:9")
    assert source.resolved_urls() == ["http://localhost:9/x.tsv"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("kind: indicators", "kind: gossip"), "field 'kind'"),
        (("format: eurostat_tsv", "format: xlsx"), "field 'format'"),
        (("suite: eurostat_rates", "suite: eurostat_rates\n    colour: red"), "field 'colour': unknown field"),
        (("  demo_tsv:", "  Demo-TSV:"), "field 'source_id'"),
        (("    freshness: {warn_after_hours: 1, error_after_hours: 2}\n", ""), "field 'freshness'"),
        (("error_after_hours: 2", "error_after_hours: 1"), "0 < warn_after_hours < error_after_hours"),
    ],
)
def test_bad_entries_name_the_entry_and_field(tmp_path, change, message) -> None:
    with pytest.raises(RegistryError, match=message):
        load_registry(write(tmp_path, GOOD.replace(*change)))


TWO_PROFILES = (
    GOOD
    + """
  live_tsv:
    kind: indicators
    format: eurostat_tsv
    description: d
    publisher: Eurostat
    suite: eurostat_rates
    urls: ["https://example.org/x.tsv"]
    profiles: [live]
  both_tsv:
    kind: indicators
    format: eurostat_tsv
    description: d
    publisher: Eurostat
    suite: eurostat_rates
    urls: ["https://example.org/y.tsv"]
    profiles: [demo, live]
    sample: true
"""
).replace("    freshness: {warn_after_hours: 1, error_after_hours: 2}\n", "")
TWO_PROFILES = "defaults:\n  freshness: {warn_after_hours: 1, error_after_hours: 2}\n" + TWO_PROFILES


def test_a_profile_selects_its_entries(tmp_path) -> None:
    path = write(tmp_path, TWO_PROFILES)
    assert set(load_registry(path, profile="demo").sources) == {"demo_tsv", "both_tsv"}
    assert set(load_registry(path, profile="live").sources) == {"live_tsv", "both_tsv"}
    assert set(load_registry(path, profile=ALL_PROFILES).sources) == {"demo_tsv", "live_tsv", "both_tsv"}
    settings = Settings.from_env({"OBSERVATORY_REGISTRY_PROFILE": "live", "OBSERVATORY_REGISTRY": str(path)})
    registry = load_registry(settings=settings)
    assert set(registry.sources) == {"live_tsv", "both_tsv"} and registry["both_tsv"].sample
    with pytest.raises(RegistryError, match="no source 'demo_tsv' in the registry's profile 'live'"):
        registry["demo_tsv"]
    with pytest.raises(RegistryError, match="unknown registry profile 'staging'"):
        load_registry(path, profile="staging")


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [("profiles", "[prod]", "profiles"), ("profiles", "[]", "profiles"), ("sample", "'yes'", "sample")],
)
def test_bad_profiles_or_sample_flag_name_the_field(tmp_path, field, value, problem) -> None:
    with pytest.raises(RegistryError, match=f"'demo_tsv', field '{problem}'"):
        load_registry(write(tmp_path, GOOD + f"    {field}: {value}\n"))


def test_sample_entries_of_the_project_say_so_in_their_licence() -> None:
    for source in load_registry(PROJECT / "sources.yml", profile=ALL_PROFILES).sources.values():
        assert source.sample == (source.licence == "sample written for the project"), source.source_id
        if "live" in source.profiles:
            assert not source.sample, f"{source.source_id}: a live entry reads a publisher, never a sample"


def test_sources_lists_what_a_profile_would_fetch_without_fetching(tmp_path) -> None:
    settings = Settings.from_env({"OBSERVATORY_REGISTRY": str(write(tmp_path, TWO_PROFILES))})
    lines = list(source_lines(settings, "live"))
    assert lines == [
        "source both_tsv kind=indicators format=eurostat_tsv collector=http schedule=@daily sample",
        "  fetch https://example.org/y.tsv",
        "source live_tsv kind=indicators format=eurostat_tsv collector=http schedule=@daily",
        "  fetch https://example.org/x.tsv",
        "sources profile=live entries=2 resources=2",
    ]


def test_a_reports_entry_cannot_be_a_sample(tmp_path) -> None:
    text = GOOD.replace("kind: indicators", "kind: reports").replace("format: eurostat_tsv", "format: document")
    with pytest.raises(RegistryError, match="'demo_tsv', field 'sample': a reports entry reads published documents"):
        load_registry(
            write(tmp_path, text.replace("suite: eurostat_rates", "suite: report_document") + "    sample: true\n")
        )


@pytest.mark.parametrize(
    "name",
    ['x"; drop table raw.y; --', "x'; drop table raw.y; --", "raw.eurostat_observation", "demo_tsv\n", "Ünïcode"],
)
def test_a_name_that_would_become_sql_or_a_path_is_refused_at_load(tmp_path, name: str) -> None:
    """Source ids name stage and quarantine tables and landing directories, suites name files: an entry named like
    an injection never gets as far as a query."""
    with pytest.raises(RegistryError, match="field 'source_id': must be lower-case letters, digits and '_'"):
        load_registry(write(tmp_path, GOOD.replace("  demo_tsv:", f"  {json.dumps(name)}:")))
    with pytest.raises(RegistryError, match="field 'suite': must be lower-case"):
        load_registry(write(tmp_path, GOOD.replace("suite: eurostat_rates", f"suite: {json.dumps(name)}")))
    with pytest.raises(RegistryError, match="field 'source_id': if given, must be the entry's key"):
        load_registry(write(tmp_path, GOOD + f"    source_id: {json.dumps(name)}\n"))
