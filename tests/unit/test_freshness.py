"""The registry is the one place freshness thresholds live; dbt's source file is generated from it."""

from __future__ import annotations

import yaml

from observatory.cli import main
from observatory.config.registry import ALL_PROFILES, load_registry
from observatory.config.settings import Settings
from observatory.quality.freshness import dbt_sources_up_to_date, dbt_sources_yaml


def test_committed_dbt_source_file_is_generated_from_the_registry() -> None:
    assert Settings.from_env().dbt_sources_path.read_text(encoding="utf-8") == dbt_sources_yaml(
        load_registry(profile=ALL_PROFILES)
    ), "run `observatory freshness-sources` after changing sources.yml"
    assert main(["freshness-sources", "--check"]) == 0


def test_each_entry_gets_its_own_thresholds_and_filter(tmp_path) -> None:
    registry_file = tmp_path / "sources.yml"
    registry_file.write_text(
        """
defaults: {freshness: {warn_after_hours: 48, error_after_hours: 168}}
sources:
  monthly_list:
    kind: funding
    format: funding_csv
    description: d
    publisher: p
    suite: funding_operation
    paths: ["x.csv"]
    freshness: {warn_after_hours: 5, error_after_hours: 10}
  daily_feed:
    kind: events
    format: ics
    description: d
    publisher: p
    suite: calendar_event
    urls: ["http://127.0.0.1:1/x.ics"]
""",
        encoding="utf-8",
    )
    document = yaml.safe_load(dbt_sources_yaml(load_registry(registry_file)))
    (source,) = document["sources"]
    assert (source["name"], source["schema"], source["config"]["loaded_at_field"]) == (
        "registry",
        "audit",
        "finished_at",
    )
    tables = {table["name"]: table for table in source["tables"]}
    assert set(tables) == {"monthly_list", "daily_feed"}
    monthly = tables["monthly_list"]["config"]["freshness"]
    assert monthly["warn_after"] == {"count": 5, "period": "hour"}
    assert monthly["error_after"] == {"count": 10, "period": "hour"}
    assert monthly["filter"] == "source_id = 'monthly_list' and status in ('published', 'unchanged')"
    assert tables["daily_feed"]["config"]["freshness"]["error_after"]["count"] == 168
    assert {table["identifier"] for table in tables.values()} == {"batch"}


def test_check_fails_on_a_stale_file(tmp_path, monkeypatch, capsys) -> None:
    settings = Settings.from_env()
    stale_project = tmp_path / "dbt_project"
    stale = stale_project / "models" / "staging" / "_registry__sources.yml"
    stale.parent.mkdir(parents=True)
    stale.write_text(settings.dbt_sources_path.read_text(encoding="utf-8").replace("count: 720", "count: 721", 1))
    assert not dbt_sources_up_to_date(settings.replace(dbt_project_dir=stale_project))
    monkeypatch.setenv("OBSERVATORY_DBT_PROJECT_DIR", str(stale_project))
    assert main(["freshness-sources", "--check"]) == 1
    assert "is stale" in capsys.readouterr().err
