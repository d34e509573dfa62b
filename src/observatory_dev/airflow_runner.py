"""Run the project's DAGs with the real Airflow CLI (``airflow dags test``), in a project-local AIRFLOW_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from observatory.airflow import lineage
from observatory.config.settings import Settings
from observatory.warehouse import connection
from observatory.warehouse.connection import dbt_env


class DagRunFailed(RuntimeError):
    """``airflow dags test`` ended with a failed task."""


def link_plugins(home: Path) -> None:
    """Make the project's ``plugins/`` the plugins folder of the Airflow home ``home`` (Airflow's default
    location, ``$AIRFLOW_HOME/plugins``), so nothing needs to override ``plugins_folder``."""
    home.mkdir(parents=True, exist_ok=True)
    link = home / "plugins"
    if not link.is_symlink() and not link.exists():
        link.symlink_to(Settings.from_env().plugins_dir, target_is_directory=True)


def airflow_env(conninfo: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for the Airflow CLI: local home and SQLite metadata, our DAGs, the warehouse, dbt."""
    settings = Settings.from_env()
    home = Path(os.environ.get("AIRFLOW_HOME", settings.local_dir / "airflow"))
    link_plugins(home)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", "4"),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        # cosmos defaults to /tmp/cosmos, shared by every user of the machine; keep ours in the project
        "AIRFLOW__COSMOS__CACHE_DIR": os.environ.get("AIRFLOW__COSMOS__CACHE_DIR", str(settings.local_dir / "cosmos")),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        # OpenLineage events: a JSON-lines file under .local/lineage unless a transport or OPENLINEAGE_URL is set
        **lineage.transport_env({**os.environ, **(extra or {})}),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        connection.DSN_ENV: conninfo,
        **dbt_env(conninfo),
        **(extra or {}),
    }
    return env


def airflow(args: list[str], env: dict[str, str], *, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), *args], env=env, text=True, capture_output=capture
    )


def migrate_metadata(env: dict[str, str]) -> None:
    result = airflow(["db", "migrate"], env)
    if result.returncode != 0:
        raise DagRunFailed(f"airflow db migrate failed:\n{result.stderr[-4000:]}")


def build_manifest(env: dict[str, str]) -> Path:
    """``dbt parse`` → target/manifest.json, which cosmos renders the transformation DAG from."""
    project_dir = Settings.from_env().dbt_project_dir
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "parse",
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
        ],
        env=env,
        text=True,
        capture_output=True,
    )
    if result.returncode != 0:
        raise DagRunFailed(f"dbt parse failed:\n{result.stdout[-4000:]}")
    return project_dir / "target" / "manifest.json"


def test_dag(dag_id: str, logical_date: datetime, env: dict[str, str]) -> str:
    """Run one DAG once with ``airflow dags test``; raise ``DagRunFailed`` (with the log tail) if it fails."""
    result = airflow(["dags", "test", dag_id, logical_date.isoformat()], env)
    output = result.stdout + result.stderr
    if result.returncode != 0 or "state=failed" in output.replace(" ", "") or "DagRunState.FAILED" in output:
        raise DagRunFailed(f"DAG {dag_id} failed:\n{output[-6000:]}")
    return output
