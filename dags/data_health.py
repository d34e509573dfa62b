"""
### Data health

Daily check of every source in the registry, off the critical path of collection and transformation:

1. `dbt_source_freshness`: `dbt source freshness` (astronomer-cosmos) on the dbt source `registry`, one table per
   registry entry of the deployment's profile (`OBSERVATORY_REGISTRY_PROFILE`, tag `profile_<name>`) with the
   warn/error thresholds of its `freshness` field (generated into
   `dbt_project/models/staging/_registry__sources.yml`). dbt's results land in `audit.source_freshness`, also when
   a source is stale; a source past its error threshold gets one alert a day (`observatory.airflow.notify`) and
   fails this task (after its retries).
2. `summarise`: `audit.data_health`, one row per day and entry: health status, freshness, last successful
   batch, failed expectations of the last validated batch, quarantined batches. Runs whatever the freshness
   check found; rerunning a day replaces that day's rows.
"""

from airflow.sdk import dag, get_current_context, task
from cosmos.operators.local import DbtSourceLocalOperator

from observatory.airflow.cosmos_config import profile_config
from observatory.airflow.dag_factory import START_DATE, owner_links, task_defaults
from observatory.config.settings import Settings
from observatory.quality.freshness import freshness_selector, store_freshness_results


@dag(
    dag_id="data_health",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults("data-engineering"),
    description="Daily dbt source freshness per registry entry, then the audit.data_health summary",
    owner_links=owner_links("data-engineering"),
    tags=["observatory", "quality", "freshness", "dbt"],
    doc_md=__doc__,
)
def data_health():
    freshness = DbtSourceLocalOperator(
        task_id="dbt_source_freshness",
        project_dir=str(Settings.from_env().dbt_project_dir),
        profile_config=profile_config(),
        select=freshness_selector(Settings.from_env()),
        install_deps=False,
        callback=store_freshness_results,
        doc_md="`dbt source freshness` on the registry's sources; results land in `audit.source_freshness`; a "
        "source past its error threshold fails this task.",
    )

    @task(
        trigger_rule="all_done",
        doc_md="Write today's `audit.data_health` rows (health status, freshness, last batch, failed expectations, "
        "quarantined batches), whatever the freshness check found.",
    )
    def summarise() -> dict[str, int]:
        from collections import Counter

        from observatory.quality.health import write_daily_summary
        from observatory.warehouse import connection

        with connection.connect() as conn:
            rows = write_daily_summary(conn, get_current_context()["logical_date"].date())
        return dict(Counter(row["health_status"] for row in rows))

    freshness >> summarise()


data_health()
