"""The marts' contracts: every mart enforces one with a type for every column, the committed snapshot
(dbt_project/contracts/marts.json) is the YAML's, and a column removed, renamed or retyped without a new model
version is refused with a message naming it (observatory_dev.mart_contracts)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml

from observatory.config.settings import Settings
from observatory_dev import mart_contracts
from observatory_dev.mart_contracts import breaking_changes, compatible_changes, read_snapshot

SETTINGS = Settings.from_env()
TODAY = datetime.now(UTC).date()
INDICATORS_YAML = Path("models/marts/indicators/_indicators__models.yml")
SCOREBOARD = "mart_integration_scoreboard"
REMEDY = "a breaking change needs a new model version, the old one kept until its deprecation_date"


def test_every_mart_enforces_a_contract_with_typed_columns() -> None:
    contracts = mart_contracts.mart_contracts(SETTINGS.dbt_project_dir)
    models = {path.stem for path in (SETTINGS.dbt_project_dir / "models" / "marts").rglob("*.sql")}
    assert {contract["model"] for contract in contracts.values()} == models
    assert all(contract["columns"] for contract in contracts.values())
    assert contracts["dim_geo"]["columns"][0] == {"name": "geo_code", "data_type": "text", "not_null": True}


def test_the_committed_snapshot_is_the_yaml() -> None:
    recorded = read_snapshot(SETTINGS)
    current = mart_contracts.mart_contracts(SETTINGS.dbt_project_dir)
    assert breaking_changes(recorded, current, TODAY) == []
    assert compatible_changes(recorded, current) == [], "record them: python -m observatory_dev.mart_contracts"
    assert recorded == current


@pytest.fixture()
def project(tmp_path: Path) -> Settings:
    """A copy of the marts' YAML and the committed snapshot, as the settings' dbt project."""
    shutil.copytree(SETTINGS.dbt_project_dir / "models" / "marts", tmp_path / "models" / "marts")
    shutil.copytree(SETTINGS.dbt_project_dir / "contracts", tmp_path / "contracts")
    return SETTINGS.replace(dbt_project_dir=tmp_path)


def edit_scoreboard(settings: Settings, change) -> None:
    """Apply ``change`` to the scoreboard's YAML entry (a dict) in the copy."""
    path = settings.dbt_project_dir / INDICATORS_YAML
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    change(next(model for model in document["models"] if model["name"] == SCOREBOARD))
    path.write_text(yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False), encoding="utf-8")


def column(model: dict, name: str) -> dict:
    return next(column for column in model["columns"] if column["name"] == name)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda m: column(m, "gap_change_5y").update(name="gap_change_five_years"), "column removed or renamed"),
        (lambda m: m["columns"].remove(column(m, "gap_change_5y")), "column removed or renamed"),
        (
            lambda m: column(m, "gap_change_5y").update(data_type="text"),
            "type changed from double precision to text",
        ),
        (lambda m: column(m, "gap").pop("constraints"), "no longer not_null"),
    ],
)
def test_a_breaking_change_without_a_new_version_is_refused_naming_the_column(
    project: Settings, capsys: pytest.CaptureFixture[str], change, problem: str
) -> None:
    edit_scoreboard(project, change)
    name = "gap" if problem == "no longer not_null" else "gap_change_5y"
    expected = f"{SCOREBOARD}.{name}: {problem} ({REMEDY})"
    current = mart_contracts.mart_contracts(project.dbt_project_dir)
    assert breaking_changes(read_snapshot(project), current, TODAY) == [expected]
    before = mart_contracts.snapshot_path(project).read_bytes()
    assert mart_contracts.main([], project) == 1  # not recorded
    assert mart_contracts.snapshot_path(project).read_bytes() == before
    assert f"breaking: {expected}" in capsys.readouterr().err


def test_a_new_nullable_column_is_compatible_and_recorded(project: Settings) -> None:
    edit_scoreboard(project, lambda m: m["columns"].append({"name": "gap_note", "data_type": "text"}))
    assert mart_contracts.main(["--check"], project) == 1  # stale
    assert mart_contracts.main([], project) == 0
    recorded = json.loads(mart_contracts.snapshot_path(project).read_text(encoding="utf-8"))
    assert recorded[SCOREBOARD]["columns"][-1] == {"name": "gap_note", "data_type": "text", "not_null": False}
    assert mart_contracts.main(["--check"], project) == 0


def version_the_scoreboard(model: dict) -> None:
    """v2 drops gap_change_5y; v1, the old shape, keeps the relation's name until its deprecation date."""
    model["latest_version"] = 2
    model["versions"] = [
        {"v": 1, "deprecation_date": "2027-06-30", "config": {"alias": SCOREBOARD}},
        {"v": 2, "columns": [{"include": "all", "exclude": ["gap_change_5y"]}]},
    ]


def test_a_breaking_change_with_a_new_version_keeps_the_old_relation(project: Settings) -> None:
    edit_scoreboard(project, version_the_scoreboard)
    current = mart_contracts.mart_contracts(project.dbt_project_dir)
    assert breaking_changes(read_snapshot(project), current, TODAY) == []
    assert current[SCOREBOARD]["version"] == 1 and current[SCOREBOARD]["deprecation_date"] == "2027-06-30"
    new_names = [c["name"] for c in current[f"{SCOREBOARD}_v2"]["columns"]]
    assert "gap_change_5y" not in new_names and len(new_names) == len(current[SCOREBOARD]["columns"]) - 1
    assert compatible_changes(read_snapshot(project), current) == [
        f"{SCOREBOARD}: order, constraints or version details changed",
        f"{SCOREBOARD}_v2: new relation",
    ]
    assert mart_contracts.main([], project) == 0


def test_the_old_version_goes_only_after_its_deprecation_date(project: Settings) -> None:
    edit_scoreboard(project, version_the_scoreboard)
    assert mart_contracts.main([], project) == 0
    versioned = read_snapshot(project)

    def drop_v1(model: dict) -> None:
        model["versions"] = model["versions"][1:]

    edit_scoreboard(project, drop_v1)
    current = mart_contracts.mart_contracts(project.dbt_project_dir)
    assert breaking_changes(versioned, current, date(2027, 6, 29)) == [
        f"{SCOREBOARD}: relation removed before a deprecation period ended ({REMEDY})"
    ]
    assert breaking_changes(versioned, current, date(2027, 6, 30)) == []


def test_a_mart_without_an_enforced_contract_is_named(project: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    edit_scoreboard(project, lambda m: m.pop("config"))
    assert mart_contracts.main(["--check"], project) == 1
    assert capsys.readouterr().err.strip() == (
        f"mart contracts: {INDICATORS_YAML.name}: mart {SCOREBOARD} has no enforced contract "
        "(config: contract: enforced: true)"
    )
