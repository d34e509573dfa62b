"""Run the project's DAGs with the real Airflow CLI (``airflow dags test``), in a project-local AIRFLOW_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from observatory import warehouse
from observatory.settings import DAGS_DIR, DBT_PROJECT_DIR, LOCAL_DIR


class DagRunFailed(RuntimeError):
    """``airflow dags test`` ended with a failed task."""


def dbt_env(conninfo: str) -> dict[str, str]:
    """The variables dbt's profile reads (dbt_project/profiles.yml)."""
    parts = warehouse.dsn_parts(conninfo)
    return {
        "OBSERVATORY_DB_HOST": parts["host"],
        "OBSERVATORY_DB_PORT": parts["port"],
        "OBSERVATORY_DB_USER": parts["user"],
        "OBSERVATORY_DB_PASSWORD": parts["password"],
        "OBSERVATORY_DB_NAME": parts["dbname"],
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
    }


def airflow_env(conninfo: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for the Airflow CLI: local home and SQLite metadata, our DAGs, the warehouse, dbt."""
    home = Path(os.environ.get("AIRFLOW_HOME", LOCAL_DIR / "airflow"))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        # Our package is installed (pip -e), not loaded as Airflow plugins: Airflow's plugin loader imports every
        # file of its plugins folder as a top-level module, which would shadow the standard library.
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", "4"),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        # cosmos defaults to /tmp/cosmos, shared by every user of the machine; keep ours in the project
        "AIRFLOW__COSMOS__CACHE_DIR": os.environ.get("AIRFLOW__COSMOS__CACHE_DIR", str(LOCAL_DIR / "cosmos")),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        warehouse.DSN_ENV: conninfo,
        **dbt_env(conninfo),
        **(extra or {}),
    }
    return env


def airflow(args: list[str], env: dict[str, str], *, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "airflow"), *args], env=env, text=True,
                          capture_output=capture)


def migrate_metadata(env: dict[str, str]) -> None:
    result = airflow(["db", "migrate"], env)
    if result.returncode != 0:
        raise DagRunFailed(f"airflow db migrate failed:\n{result.stderr[-4000:]}")


def build_manifest(env: dict[str, str]) -> Path:
    """``dbt parse`` → target/manifest.json, which cosmos renders the transformation DAG from."""
    result = subprocess.run([str(Path(sys.executable).parent / "dbt"), "parse", "--project-dir", str(DBT_PROJECT_DIR),
                             "--profiles-dir", str(DBT_PROJECT_DIR)], env=env, text=True, capture_output=True)
    if result.returncode != 0:
        raise DagRunFailed(f"dbt parse failed:\n{result.stdout[-4000:]}")
    return DBT_PROJECT_DIR / "target" / "manifest.json"


def test_dag(dag_id: str, logical_date: datetime, env: dict[str, str]) -> str:
    """Run one DAG once with ``airflow dags test``; raise ``DagRunFailed`` (with the log tail) if it fails."""
    result = airflow(["dags", "test", dag_id, logical_date.isoformat()], env)
    output = result.stdout + result.stderr
    if result.returncode != 0 or "state=failed" in output.replace(" ", "") or "DagRunState.FAILED" in output:
        raise DagRunFailed(f"DAG {dag_id} failed:\n{output[-6000:]}")
    return output
