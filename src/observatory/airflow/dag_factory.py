"""Airflow DAGs built from the source registry: one collection DAG per source.

Kept import-light: it reads the registry (a small YAML file) and builds task objects; everything heavy
(requests, GX, psycopg, parsers) is imported inside the tasks when they run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset, dag, get_current_context, task

from observatory.airflow.notify import on_failure_callback
from observatory.config.registry import Source

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def task_defaults(owner: str, retries: int = 2, retry_delay: timedelta = timedelta(minutes=5)) -> dict:
    """Every task of every DAG: an owner, retries with exponential backoff, a notification when it fails."""
    return {
        "owner": owner,
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": on_failure_callback,
    }


def default_args(source: Source) -> dict:
    return task_defaults(source.owner, source.retries, source.retry_delay)


def raw_asset(source: Source) -> Asset:
    return Asset(
        name=source.asset_name,
        uri=f"observatory://raw/{source.source_id}",
        extra={"kind": source.kind, "raw_table": f"raw.{source.raw_table}"},
    )


def collection_dag(source: Source):
    """``collect__<source_id>``: fetch → stage → validate → publish, keyed by the logical date."""

    @dag(
        dag_id=f"collect__{source.source_id}",
        schedule=source.schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(source),
        tags=["observatory", "collect", source.kind, source.format, *source.tags],
        doc_md=(
            f"### Collect `{source.source_id}`\n\n{source.description}\n\n"
            f"- publisher: {source.publisher}; licence: {source.licence}\n"
            f"- format `{source.format}` → `raw.{source.raw_table}`; quality suite `expectations/{source.suite}.json`\n"
            "- Steps: fetch into the landing zone → parse and COPY into `stage.<load_id>` → GX gate "
            "(a failing batch is quarantined and the run fails) → publish in one transaction.\n"
            "- An incremental source whose content is unchanged loads nothing: `publish` is skipped, so the "
            "asset gets no event and the warehouse is not rebuilt.\n"
            "- Generated from `sources.yml` by `observatory.airflow.dag_factory`."
        ),
    )
    def collect():
        @task
        def fetch() -> dict:
            from observatory import pipeline

            logical_date = get_current_context()["logical_date"]
            return {
                "load_id": pipeline.load_id_for(source.source_id, logical_date),
                "landed": pipeline.fetch(source.source_id, logical_date),
            }

        @task
        def stage(fetched: dict) -> str:
            from observatory import pipeline

            pipeline.stage(source.source_id, fetched["load_id"], fetched["landed"])
            return fetched["load_id"]

        @task
        def validate(load_id: str) -> str:
            from observatory import pipeline

            pipeline.validate(source.source_id, load_id)
            return load_id

        @task(outlets=[raw_asset(source)])
        def publish(load_id: str) -> int:
            from airflow.sdk.exceptions import AirflowSkipException

            from observatory import pipeline

            try:
                return pipeline.publish(source.source_id, load_id)
            except pipeline.BatchUnchanged as unchanged:
                raise AirflowSkipException(str(unchanged)) from unchanged

        publish(validate(stage(fetch())))

    return collect()
