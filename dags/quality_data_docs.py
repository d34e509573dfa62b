"""
### Quality Data Docs

Re-validates every source's published raw rows with its Great Expectations suite and renders the GX Data Docs
static site (`.local/datadocs`, or `OBSERVATORY_DATADOCS_DIR`). Runs daily, apart from the collection and
transformation DAGs, so rendering never delays publishing. Airflow tasks fail visibly; failures notify through
`observatory.airflow.notify`.
"""

from airflow.sdk import dag, task

from observatory.airflow.dag_factory import START_DATE, owner_links, task_defaults


@dag(
    dag_id="quality_data_docs",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults("data-engineering"),
    description="Daily re-validation of the published raw rows with their GX suites, rendered as Data Docs",
    owner_links=owner_links("data-engineering"),
    tags=["observatory", "quality", "gx"],
    doc_md=__doc__,
)
def quality_data_docs():
    @task(doc_md="Validate each source's published `raw` rows with its suite and render the GX Data Docs site.")
    def render_data_docs() -> str:
        from observatory.quality.data_docs import build_data_docs

        return str(build_data_docs())

    render_data_docs()


quality_data_docs()
