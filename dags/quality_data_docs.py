"""
### Quality Data Docs

Re-validates every source's published raw rows with its Great Expectations suite and renders the GX Data Docs
static site (`.local/datadocs`, or `OBSERVATORY_DATADOCS_DIR`). Runs daily, apart from the collection and
transformation DAGs, so rendering never delays publishing. Airflow tasks fail visibly; failures notify through
`observatory.notify`.
"""

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

from observatory.notify import on_failure_callback


@dag(
    dag_id="quality_data_docs",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": timedelta(minutes=5),
                  "retry_exponential_backoff": True, "on_failure_callback": on_failure_callback},
    tags=["observatory", "quality", "gx"],
    doc_md=__doc__,
)
def quality_data_docs():
    @task
    def render_data_docs() -> str:
        from observatory.datadocs import build_data_docs

        return str(build_data_docs())

    render_data_docs()


quality_data_docs()
