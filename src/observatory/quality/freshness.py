"""Source freshness: dbt checks every registry entry against the thresholds of its ``freshness`` field.

``sources.yml`` is the one place the thresholds live. ``observatory freshness-sources`` writes them into the dbt
source file ``Settings.dbt_sources_path``: one table of the dbt source ``registry`` per registry entry, measured on
``audit.batch`` (when a batch of the entry was last published, or last found unchanged at the publisher), for the
entries of every profile, each tagged with its profiles (``profile_demo``, ``profile_live``). A test fails when that
file is stale. The daily ``data_health`` DAG runs ``dbt source freshness`` through cosmos and
stores dbt's results in ``audit.source_freshness`` with :func:`store_freshness_results`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from observatory.config.registry import ALL_PROFILES, Registry, load_registry
from observatory.config.settings import Settings

DBT_SOURCE_NAME = "registry"
HEADER = (
    "# Generated from sources.yml by `observatory freshness-sources`: edit the registry, not this file\n"
    "# (tests/unit/test_freshness.py fails when it is stale).\n"
)


def dbt_sources_yaml(registry: Registry) -> str:
    """The dbt source file that checks every registry entry's freshness."""
    tables = [
        {
            "name": source.source_id,
            "identifier": "batch",
            "description": f"Batches of registry entry `{source.source_id}` ({source.kind}, {source.publisher}).",
            "config": {
                "tags": [profile_tag(profile) for profile in source.profiles],
                "freshness": {
                    "warn_after": {"count": source.freshness.warn_after_hours, "period": "hour"},
                    "error_after": {"count": source.freshness.error_after_hours, "period": "hour"},
                    "filter": f"source_id = '{source.source_id}' and status in ('published', 'unchanged')",
                },
            },
        }
        for source in sorted(registry.sources.values(), key=lambda source: source.source_id)
    ]
    document = {
        "version": 2,
        "sources": [
            {
                "name": DBT_SOURCE_NAME,
                "description": (
                    "Freshness of every entry of the source registry (sources.yml), measured on the audit log of "
                    "batches: the last time a batch was published or found unchanged at the publisher. Thresholds "
                    "are the entry's `freshness` field. Checked daily by the data_health DAG (`dbt source freshness`)."
                ),
                "schema": "audit",
                "config": {"loaded_at_field": "finished_at"},
                "tables": tables,
            }
        ],
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


def profile_tag(profile: str) -> str:
    """The dbt tag of the registry's tables of one profile: ``dbt source freshness --select
    source:registry,tag:profile_live`` checks the entries a live deployment collects."""
    return f"profile_{profile}"


def freshness_selector(settings: Settings) -> str:
    """dbt's selector of the tables of the settings' registry profile."""
    return f"source:{DBT_SOURCE_NAME},tag:{profile_tag(settings.registry_profile)}"


def dbt_sources_up_to_date(settings: Settings | None = None) -> bool:
    """Whether the committed dbt source file is what the registry generates."""
    settings = settings or Settings.from_env()
    path = settings.dbt_sources_path
    return path.is_file() and path.read_text(encoding="utf-8") == dbt_sources_yaml(
        load_registry(settings=settings, profile=ALL_PROFILES)
    )


def write_dbt_sources(settings: Settings | None = None) -> Path:
    settings = settings or Settings.from_env()
    path = settings.dbt_sources_path
    path.write_text(dbt_sources_yaml(load_registry(settings=settings, profile=ALL_PROFILES)), encoding="utf-8")
    return path


def freshness_results(project_dir: str | Path) -> list[dict[str, Any]]:
    """dbt's results of ``dbt source freshness`` (``target/sources.json``) for the registry's tables."""
    path = Path(project_dir) / "target" / "sources.json"
    if not path.is_file():
        raise FileNotFoundError(f"dbt wrote no freshness results at {path}")
    prefix = f"source.observatory.{DBT_SOURCE_NAME}."
    rows = []
    for result in json.loads(path.read_text(encoding="utf-8"))["results"]:
        if not result["unique_id"].startswith(prefix):
            continue
        criteria = result.get("criteria") or {}
        age = result.get("max_loaded_at_time_ago_in_s")
        rows.append(
            {
                "source_id": result["unique_id"][len(prefix) :],
                "status": result["status"],
                "max_loaded_at": result.get("max_loaded_at"),
                "checked_at": result.get("snapshotted_at"),
                "age_hours": None if age is None else round(age / 3600, 2),
                "warn_after_hours": (criteria.get("warn_after") or {}).get("count"),
                "error_after_hours": (criteria.get("error_after") or {}).get("count"),
                "message": result.get("error") or result.get("message"),
            }
        )
    return rows


def store_freshness_results(project_dir: str, context: dict | None = None, **_: Any) -> int:
    """cosmos callback after ``dbt source freshness`` (also when a source is stale): keep dbt's results in
    ``audit.source_freshness``, one row per registry entry and Airflow run (a retried run replaces its rows), then
    alert on the sources past their error threshold (``observatory.airflow.notify``)."""
    from observatory.warehouse import connection

    run_id = str((context or {}).get("run_id") or "manual")
    rows = freshness_results(project_dir)
    with connection.connect() as conn:
        for row in rows:
            conn.execute(
                """
                insert into audit.source_freshness (run_id, source_id, status, max_loaded_at, checked_at, age_hours,
                                                    warn_after_hours, error_after_hours, message)
                values (%(run_id)s, %(source_id)s, %(status)s, %(max_loaded_at)s, coalesce(%(checked_at)s, now()),
                        %(age_hours)s, %(warn_after_hours)s, %(error_after_hours)s, %(message)s)
                on conflict (run_id, source_id) do update set
                    status = excluded.status, max_loaded_at = excluded.max_loaded_at, checked_at = excluded.checked_at,
                    age_hours = excluded.age_hours, warn_after_hours = excluded.warn_after_hours,
                    error_after_hours = excluded.error_after_hours, message = excluded.message
                """,
                {"run_id": run_id, **row},
            )
    from observatory.airflow.notify import notify_stale_sources

    notify_stale_sources(context or {})  # once per source past its error threshold and day
    return len(rows)
