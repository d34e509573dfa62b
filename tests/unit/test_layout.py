"""The layout keeps its promises: the runtime package does not depend on the development tooling, Airflow's
plugins folder holds only Airflow plugins, and the demo's registry reads only bundled sample data."""

from __future__ import annotations

import ast
from pathlib import Path

from observatory.config.registry import load_registry

PROJECT = Path(__file__).resolve().parents[2]
RUNTIME = PROJECT / "src" / "observatory"


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_the_runtime_never_imports_the_development_tooling() -> None:
    """Only the ``observatory demo`` command reaches into observatory_dev (the demo is development tooling)."""
    offenders = {}
    for path in RUNTIME.rglob("*.py"):
        modules = sorted(module for module in imported_modules(path) if module.startswith("observatory_dev"))
        if modules:
            offenders[path.relative_to(PROJECT).as_posix()] = modules
    assert offenders == {"src/observatory/cli.py": ["observatory_dev.demo"]}


def test_parsers_do_not_import_the_warehouse() -> None:
    """Parsing yields rows (tuples or ``parse.arrays.ArrayBatch``); loading them is the warehouse's business."""
    for path in (RUNTIME / "parse").glob("*.py"):
        assert not {m for m in imported_modules(path) if m.startswith("observatory.warehouse.load")}, path


def test_plugins_folder_holds_only_airflow_plugins() -> None:
    for path in (PROJECT / "plugins").rglob("*"):
        if path.is_file() and path.name != "README.md":
            assert path.suffix == ".py" and "AirflowPlugin" in path.read_text(encoding="utf-8"), path


def test_registry_entries_read_only_bundled_sample_data() -> None:
    for source in load_registry(PROJECT / "sources.yml").sources.values():
        for pattern in source.paths:
            assert pattern.startswith("sample_data/"), f"{source.source_id}: {pattern}"
