"""Lineage: the OpenLineage events of a real collection run and a real transformation run (``airflow dags test``
with the Airflow OpenLineage provider and a file transport) name the datasets each one read and wrote."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from psycopg.conninfo import conninfo_to_dict

from observatory.collect import planned_resources
from observatory.config.registry import load_registry
from observatory.config.settings import Settings

pytestmark = pytest.mark.integration
SOURCE = "eurostat_lfsa_ergan"
MART = "fct_indicator_observation"


def complete_events(path: Path, prefix: str) -> dict[str, dict]:
    """The COMPLETE event of each job (``<dag_id>.<task_id>``) named ``prefix...`` in a file transport's lines."""
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {
        event["job"]["name"]: event
        for event in events
        if event["eventType"] == "COMPLETE" and event["job"]["name"].startswith(prefix)
    }


def names(datasets: list[dict]) -> set[tuple[str, str]]:
    return {(dataset["namespace"], dataset["name"]) for dataset in datasets}


def test_collection_and_transformation_events_name_their_datasets(
    warehouse_dsn: str, sample_base_url: str, tmp_path: Path
) -> None:
    from observatory_dev.airflow_runner import airflow_env, migrate_metadata, test_dag

    dags = tmp_path / "dags"
    dags.mkdir()
    for name in ("collect_sources.py", "transform_warehouse.py"):
        (dags / name).symlink_to(Settings.from_env().dags_dir / name)
    events_file = tmp_path / "lineage" / "events.jsonl"
    events_file.parent.mkdir()  # the file transport does not create it
    env = airflow_env(
        warehouse_dsn,
        {
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(events_file), "append": True}
            ),
            "OBSERVATORY_LANDING_DIR": str(tmp_path / "landing"),
            # the mart under test and its parents, and only the tests between them
            "OBSERVATORY_DBT_SELECT": f"+{MART}",
            "DBT_INDIRECT_SELECTION": "cautious",
        },
    )
    migrate_metadata(env)
    test_dag(f"collect__{SOURCE}", datetime(2026, 10, 1, tzinfo=UTC), env)

    warehouse = conninfo_to_dict(warehouse_dsn)
    namespace = f"postgres://{warehouse['host']}:{warehouse['port']}"
    source = load_registry()[SOURCE]
    raw_table = (namespace, f"{warehouse['dbname']}.raw.{source.raw_table}")
    urls = [urlsplit(url) for url in planned_resources(source)[0]]
    assert urls and all(url.scheme == "https" for url in urls)
    expected_inputs = {(f"https://{url.netloc}", url.path + (f"?{url.query}" if url.query else "")) for url in urls}
    collection = complete_events(events_file, f"collect__{SOURCE}.")
    assert collection[f"collect__{SOURCE}.publish"]["job"]["namespace"] == "observatory"
    assert names(collection[f"collect__{SOURCE}.publish"]["inputs"]) == expected_inputs
    assert names(collection[f"collect__{SOURCE}.publish"]["outputs"]) == {raw_table}
    assert names(collection[f"collect__{SOURCE}.fetch"]["inputs"]) == expected_inputs

    test_dag("transform_warehouse", datetime(2026, 10, 1, 1, tzinfo=UTC), env)
    transform = complete_events(events_file, "transform_warehouse.dbt.")
    assert (namespace, f"{warehouse['dbname']}.marts.{MART}") in names(
        transform[f"transform_warehouse.dbt.{MART}_run"]["outputs"]
    )
    read = {dataset for event in transform.values() for dataset in names(event["inputs"])}
    assert raw_table in read, sorted(read)
    assert str(warehouse["password"]) not in events_file.read_text(encoding="utf-8")


def test_events_go_to_a_local_file_unless_a_transport_or_url_is_configured(tmp_path: Path) -> None:
    from observatory.airflow.lineage import transport_env

    local = {"OBSERVATORY_LOCAL_DIR": str(tmp_path / "local")}
    default = transport_env(local)
    assert default["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "observatory"
    assert json.loads(default["AIRFLOW__OPENLINEAGE__TRANSPORT"]) == {
        "type": "file",
        "log_file_path": str(tmp_path / "local" / "lineage" / "events.jsonl"),
        "append": True,
    }
    assert (tmp_path / "local" / "lineage").is_dir()
    for configured in ({"OPENLINEAGE_URL": "http://127.0.0.1:5000"}, {"OPENLINEAGE__TRANSPORT__TYPE": "console"}):
        assert transport_env({**local, **configured}) == {
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "observatory",
            "OPENLINEAGE_CLIENT_LOGGING": "WARNING",
        }
    assert transport_env({**local, "OPENLINEAGE_CLIENT_LOGGING": "DEBUG"})["OPENLINEAGE_CLIENT_LOGGING"] == "DEBUG"
