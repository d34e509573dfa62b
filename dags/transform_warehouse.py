"""
### Transform the warehouse

Runs the dbt project (staging → intermediate → marts) with astronomer-cosmos whenever a collection DAG
publishes a batch (data-aware scheduling on the raw assets). The DAG is rendered from the manifest that
`make manifest` builds (`dbt_project/target/manifest.json`), so no dbt runs while this file is parsed.
Each model runs with its tests (`dbt build` per node); marts are tables swapped in atomically and readable
by the `bi_reader` role only.
"""

from datetime import timedelta

from airflow.sdk import AssetAny, dag
from cosmos import DbtTaskGroup, ExecutionConfig, RenderConfig
from cosmos.constants import ExecutionMode, LoadMode, TestBehavior

from observatory.airflow.cosmos_config import profile_config, project_config
from observatory.airflow.dag_factory import START_DATE, raw_asset, task_defaults
from observatory.config.registry import load_registry

_sources = load_registry().sources.values()


@dag(
    dag_id="transform_warehouse",
    schedule=AssetAny(*(raw_asset(source) for source in _sources)),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults("analytics-engineering", retry_delay=timedelta(minutes=1)),
    tags=["observatory", "transform", "dbt"],
    doc_md=__doc__,
)
def transform_warehouse():
    DbtTaskGroup(
        group_id="dbt",
        project_config=project_config(),
        profile_config=profile_config(),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.LOCAL),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_ALL, emit_datasets=False
        ),
        operator_args={"install_deps": False},
    )


transform_warehouse()
