"""The source registry: the project's own sources.yml is valid, and bad entries fail with a clear message."""

from pathlib import Path

import pytest

from observatory.config.registry import RegistryError, load_registry
from observatory.parse import FORMATS, parser_for
from observatory.quality.gate import load_suite, suite_path

PROJECT = Path(__file__).resolve().parents[2]


def test_project_registry_has_a_source_of_each_kind() -> None:
    registry = load_registry(PROJECT / "sources.yml")
    assert {source.kind for source in registry.sources.values()} == {"indicators", "reports", "events", "funding"}


@pytest.mark.parametrize("source", load_registry(PROJECT / "sources.yml").sources.values(), ids=lambda s: s.source_id)
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
