"""Every DAG file imports cleanly, follows the project's conventions, and is light at import time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags"))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def test_one_collection_dag_per_registry_source_plus_transform(dagbag) -> None:
    from observatory.config.registry import load_registry

    expected = {f"collect__{source_id}" for source_id in load_registry().sources}
    expected |= {"transform_warehouse", "quality_data_docs", "data_health"}
    assert set(dagbag.dag_ids) == expected


def test_every_dag_has_owner_tags_retries_schedule_and_docs(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 40, dag_id
        assert dag.schedule is not None, f"{dag_id} has no schedule"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_every_dag_has_a_description_owner_links_and_task_docs(dagbag) -> None:
    """The DAG list shows a one-line description, the owner is a link, each task's docs say what the step does."""
    for dag_id, dag in dagbag.dags.items():
        assert dag.description and "\n" not in dag.description and len(dag.description) <= 200, dag_id
        owners = {task.owner for task in dag.tasks}
        assert set(dag.owner_links) == owners, dag_id
        assert all(link.startswith("mailto:") for link in dag.owner_links.values()), dag_id
        for task in dag.tasks:
            assert task.doc_md and len(task.doc_md) > 40, f"{dag_id}.{task.task_id} has no doc_md"


def test_transform_docs_say_the_tests_run_after_all_models(dagbag) -> None:
    transform = dagbag.dags["transform_warehouse"]
    assert "after all" in " ".join(transform.doc_md.split())
    assert "`dbt build` per node" not in transform.doc_md  # what it used to say, wrongly
    [tests] = [task for task in transform.tasks if task.task_id.endswith("_test")]  # cosmos TestBehavior.AFTER_ALL
    models = [task for task in transform.tasks if task.task_id.endswith("_run")]
    assert models and all(tests in task.get_flat_relatives(upstream=False) for task in models)


def test_failures_notify(dagbag) -> None:
    from observatory.airflow.failure import on_retry_callback
    from observatory.airflow.notify import on_failure_callback

    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert on_failure_callback in callbacks, f"{dag_id}.{task.task_id}"
            retries = task.on_retry_callback
            assert on_retry_callback in (retries if isinstance(retries, list) else [retries]), task.task_id


def test_collection_dags_publish_the_assets_the_transform_dag_waits_for(dagbag) -> None:
    transform = dagbag.dags["transform_warehouse"]
    published = set()
    for dag_id, dag in dagbag.dags.items():
        if dag_id.startswith("collect__"):
            publish = dag.get_task("publish")
            assert publish.retry_exponential_backoff
            published |= {outlet.name for outlet in publish.outlets}
    waited_for = {asset.name for asset in transform.schedule.objects}  # AssetAny: any publish triggers it
    assert published and published == waited_for


def test_dag_files_do_no_heavy_imports_and_no_network_at_import() -> None:
    """Import the DAG files in a fresh interpreter with sockets disabled; GX, pandas, requests, psycopg stay out."""
    probe = f"""
import json, socket, sys, runpy
def no_network(*args, **kwargs):
    raise RuntimeError("network at DAG import time")
socket.socket.connect = no_network
socket.create_connection = no_network
runpy.run_path({str(PROJECT / "dags" / "collect_sources.py")!r})
print(json.dumps(sorted(m for m in ("great_expectations", "requests", "psycopg", "icalendar", "pypdf")
                        if m in sys.modules)))
"""
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env={**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
