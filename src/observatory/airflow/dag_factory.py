"""Airflow DAGs built from the source registry: one collection DAG per source.

Kept import-light: it reads the registry (a small YAML file) and builds task objects; everything heavy
(requests, GX, psycopg, parsers) is imported inside the tasks when they run.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.sdk import Asset, dag, get_current_context, task

from observatory.airflow.failure import import_gx_quietly, on_retry_callback, quiet_third_party_loggers
from observatory.airflow.notify import on_failure_callback
from observatory.config.registry import Source

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
OWNER_MAIL_DOMAIN_ENV = "OBSERVATORY_OWNER_MAIL_DOMAIN"
STEP_DOCS = {
    "fetch": "Fetch every resource of the source into the landing zone (content-addressed, one `audit.fetch_log` "
    "row per fetch). An incremental source whose content is the published one is recorded as `unchanged`.",
    "stage": "Parse the landed files and COPY the rows into `stage.<load_id>`; records the parser cannot read go to "
    "`audit.rejected_record`, counted in `audit.batch.rejected_count`.",
    "validate": "Great Expectations gate on the staged batch (the source's suite, its row-count band, the share of "
    "rejected records): a failing batch moves to `quarantine.<load_id>`, an alert names it and the run fails.",
    "publish": "Replace the source's rows in `raw` with the audited batch in one transaction and emit the source's "
    "asset event (which starts `transform_warehouse`); skipped for an unchanged batch. Its OpenLineage events "
    "name the source URLs as inputs and the raw table as output.",
}


def task_defaults(owner: str, retries: int = 2, retry_delay: timedelta = timedelta(minutes=5)) -> dict:
    """Every task of every DAG: an owner, retries with exponential backoff, a summary line at the end of a failed
    try's log, a notification and a run note when it fails for good."""
    return {
        "owner": owner,
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": on_failure_callback,
        "on_retry_callback": on_retry_callback,
    }


def owner_links(*owners: str) -> dict[str, str]:
    """A mail link per owning team (``<team>@$OBSERVATORY_OWNER_MAIL_DOMAIN``), shown next to the owner in the UI."""
    domain = os.environ.get(OWNER_MAIL_DOMAIN_ENV, "observatory.local")
    return {owner: f"mailto:{owner}@{domain}" for owner in owners}


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
        description=f"Collect {source.source_id} ({source.publisher}, {source.format}) into raw.{source.raw_table}",
        owner_links=owner_links(source.owner),
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
        @task(doc_md=STEP_DOCS["fetch"])
        def fetch() -> dict:
            from observatory import pipeline
            from observatory.airflow import lineage

            quiet_third_party_loggers()
            context = get_current_context()
            landed = pipeline.fetch(source.source_id, context["logical_date"])
            lineage.annotate(context["task"], [lineage.resource_dataset(item["resource"]) for item in landed])
            return {"load_id": pipeline.load_id_for(source.source_id, context["logical_date"]), "landed": landed}

        @task(doc_md=STEP_DOCS["stage"])
        def stage(fetched: dict) -> str:
            from airflow.sdk.exceptions import AirflowSkipException

            from observatory import pipeline

            quiet_third_party_loggers()
            try:
                pipeline.stage(source.source_id, fetched["load_id"], fetched["landed"])
            except pipeline.BatchSuperseded as superseded:  # a later fetch of the interval won: retrying cannot help
                raise AirflowSkipException(str(superseded)) from superseded
            return fetched["load_id"]

        @task(doc_md=STEP_DOCS["validate"])
        def validate(load_id: str) -> str:
            from observatory import pipeline
            from observatory.airflow.notify import notify, quarantine_alert
            from observatory.quality.gate import QualityGateFailed

            import_gx_quietly()
            try:
                pipeline.validate(source.source_id, load_id)
            except QualityGateFailed as failed:  # alert now, not after the retries: the batch is quarantined
                ti = get_current_context()["ti"]
                alert = quarantine_alert(source.source_id, load_id, str(failed).splitlines()[0], ti.log_url)
                if alert:
                    notify(alert)
                raise
            return load_id

        @task(outlets=[raw_asset(source)], doc_md=STEP_DOCS["publish"])
        def publish(load_id: str) -> int:
            from airflow.sdk.exceptions import AirflowSkipException

            from observatory import pipeline
            from observatory.airflow import lineage
            from observatory.warehouse import connection

            quiet_third_party_loggers()
            try:
                rows = pipeline.publish(source.source_id, load_id)
            except (pipeline.BatchUnchanged, pipeline.BatchSuperseded) as skipped:  # nothing of this run to publish
                raise AirflowSkipException(str(skipped)) from skipped
            with connection.connect() as conn:
                inputs = lineage.batch_inputs(conn, load_id)
            lineage.annotate(
                get_current_context()["task"], inputs, [lineage.raw_table_dataset(source.raw_table, connection.dsn())]
            )
            return rows

        publish(validate(stage(fetch())))

    return collect()
