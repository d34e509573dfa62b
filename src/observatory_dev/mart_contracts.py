"""The marts' contracts (what BI tools read) as a committed snapshot: ``dbt_project/contracts/marts.json``.

Every model under ``dbt_project/models/marts`` has an enforced dbt contract (column names, ``data_type``,
``not_null`` constraints), so dbt refuses to build a mart whose SQL returns other columns. The snapshot records
those contracts per relation (the table BI tools query: ``<model>`` or, for an old model version, its alias or
``<model>_v<N>``), so that a change of the YAML is seen by review and by ``tests/unit/test_contract_snapshot.py``:

- compatible: a new column, a new relation, a new model version (the snapshot is written again with this command);
- breaking: a column of a recorded relation removed, renamed, retyped or no longer ``not_null``, or a relation
  removed before its ``deprecation_date``. This command refuses to record a breaking change: the changed model
  needs a new version (``versions:``, ``latest_version``) with the old version kept, and a ``deprecation_date``.

    python -m observatory_dev.mart_contracts          # write the snapshot (refused on a breaking change)
    python -m observatory_dev.mart_contracts --check  # exit 1 and say what differs
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from observatory.config.settings import Settings

Contract = dict[str, Any]  # {"model", "version", "deprecation_date", "columns": [{"name", "data_type", "not_null"}]}


class ContractError(ValueError):
    """A mart without an enforced contract, or a column without its ``data_type``."""


def snapshot_path(settings: Settings) -> Path:
    return settings.dbt_project_dir / "contracts" / "marts.json"


def mart_contracts(dbt_project_dir: Path) -> dict[str, Contract]:
    """The contract of every mart relation, by relation name, read from the marts' YAML files."""
    contracts: dict[str, Contract] = {}
    for path in sorted((dbt_project_dir / "models" / "marts").rglob("*.yml")):
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}
        for model in document.get("models") or []:
            for relation, contract in _model_relations(model, path.name):
                contracts[relation] = contract
    return dict(sorted(contracts.items()))


def _model_relations(model: Mapping[str, Any], file_name: str) -> list[tuple[str, Contract]]:
    name = model["name"]
    columns = model.get("columns") or []
    config = model.get("config") or {}
    versions = model.get("versions") or [None]
    relations = []
    for version in versions:
        version_config = {**config, **((version or {}).get("config") or {})}
        if not (version_config.get("contract") or {}).get("enforced"):
            raise ContractError(f"{file_name}: mart {name} has no enforced contract (config: contract: enforced: true)")
        if version is None:
            relation, version_columns, deprecation = version_config.get("alias") or name, columns, None
        else:
            relation = version_config.get("alias") or f"{name}_v{version['v']}"
            version_columns = _version_columns(columns, version.get("columns"))
            deprecation = version.get("deprecation_date") or model.get("deprecation_date")
        described = []
        for column in version_columns:
            if not column.get("data_type"):
                raise ContractError(f"{file_name}: {relation}.{column['name']} has no data_type")
            not_null = any(c.get("type") == "not_null" for c in column.get("constraints") or [])
            described.append(
                {"name": column["name"], "data_type": _normalised(column["data_type"]), "not_null": not_null}
            )
        relations.append(
            (
                relation,
                {
                    "model": name,
                    "version": None if version is None else version["v"],
                    "deprecation_date": None if deprecation is None else str(deprecation),
                    "columns": described,
                },
            )
        )
    return relations


def _version_columns(model_columns: list[dict], version_columns: list[dict] | None) -> list[dict]:
    """dbt's rule: a version has the model's columns (``include``/``exclude``), its own definitions winning."""
    if version_columns is None:
        return model_columns
    include: Any = "all"
    exclude: list[str] = []
    own = []
    for entry in version_columns:
        if "include" in entry:
            include, exclude = entry["include"], entry.get("exclude") or []
        else:
            own.append(entry)
    by_name = {column["name"]: column for column in model_columns}
    names = list(by_name) if include in ("all", "*") else list(include)
    own_names = {column["name"] for column in own}
    kept = [by_name[name] for name in names if name not in exclude and name not in own_names]
    return kept + own


def _normalised(data_type: str) -> str:
    return " ".join(str(data_type).lower().split())


def breaking_changes(recorded: Mapping[str, Contract], current: Mapping[str, Contract], today: date) -> list[str]:
    """What a BI tool reading the recorded contracts would lose, one line per column or relation."""
    problems = []
    remedy = "a breaking change needs a new model version, the old one kept until its deprecation_date"
    for relation, old in recorded.items():
        deprecation = old.get("deprecation_date")
        if deprecation is not None and date.fromisoformat(deprecation[:10]) <= today:
            continue  # its deprecation period is over: it may go, or its name be taken by a newer version
        new = current.get(relation)
        if new is None:
            problems.append(f"{relation}: relation removed before a deprecation period ended ({remedy})")
            continue
        new_columns = {column["name"]: column for column in new["columns"]}
        for column in old["columns"]:
            name, kept = column["name"], new_columns.get(column["name"])
            if kept is None:
                problems.append(f"{relation}.{name}: column removed or renamed ({remedy})")
            elif kept["data_type"] != column["data_type"]:
                problems.append(
                    f"{relation}.{name}: type changed from {column['data_type']} to {kept['data_type']} ({remedy})"
                )
            elif column["not_null"] and not kept["not_null"]:
                problems.append(f"{relation}.{name}: no longer not_null ({remedy})")
    return problems


def compatible_changes(recorded: Mapping[str, Contract], current: Mapping[str, Contract]) -> list[str]:
    """What differs without breaking a reader (new relations, columns, constraints, order, versions)."""
    changes = []
    for relation, new in current.items():
        old = recorded.get(relation)
        if old is None:
            changes.append(f"{relation}: new relation")
            continue
        old_names = {column["name"] for column in old["columns"]}
        added = [f"{relation}.{c['name']}: new column" for c in new["columns"] if c["name"] not in old_names]
        if not added and new != old:
            added.append(f"{relation}: order, constraints or version details changed")
        changes += added
    return changes


def project_copy(destination: Path, edits: Mapping[str, tuple[str, str]], settings: Settings | None = None) -> Path:
    """A copy of the dbt project (without ``target`` and ``logs``) to try a change on: ``edits`` maps a path in the
    project to (text, replacement), the text found exactly once."""
    settings = settings or Settings.from_env()
    shutil.copytree(settings.dbt_project_dir, destination, ignore=shutil.ignore_patterns("target", "logs"))
    for relative, (text, replacement) in edits.items():
        path = destination / relative
        content = path.read_text(encoding="utf-8")
        if content.count(text) != 1:
            raise ValueError(f"{relative}: {text!r} is not there exactly once")
        path.write_text(content.replace(text, replacement), encoding="utf-8")
    return destination


def read_snapshot(settings: Settings) -> dict[str, Contract]:
    path = snapshot_path(settings)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m observatory_dev.mart_contracts", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the snapshot differs from the YAML")
    args = parser.parse_args(argv)
    settings = settings or Settings.from_env()
    try:
        current = mart_contracts(settings.dbt_project_dir)
    except ContractError as exc:
        print(f"mart contracts: {exc}", file=sys.stderr)
        return 1
    recorded = read_snapshot(settings)
    breaking = breaking_changes(recorded, current, datetime.now(UTC).date())
    for line in breaking:
        print(f"breaking: {line}", file=sys.stderr)
    if args.check or breaking:
        differs = recorded != current
        if differs and not breaking:
            for line in compatible_changes(recorded, current):
                print(f"compatible: {line}", file=sys.stderr)
            print(
                f"{snapshot_path(settings)} is stale: run `python -m observatory_dev.mart_contracts`", file=sys.stderr
            )
        return 1 if differs else 0
    path = snapshot_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    print(f"{path}: {len(current)} mart relations, {sum(len(c['columns']) for c in current.values())} columns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
