"""
### Transform the warehouse

Runs the dbt project (staging → intermediate → marts) with astronomer-cosmos whenever a collection DAG
publishes a batch (data-aware scheduling on the raw assets). The DAG is rendered from the manifest that
`make manifest` builds (`dbt_project/target/manifest.json`), so no dbt runs while this file is parsed.
Each model runs with its tests (`dbt build` per node); marts are tables swapped in atomically and readable
by the `bi_reader` role only.
"""

from datetime import UTC, datetime, timedelta

from airflow.sdk import AssetAny, dag
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, LoadMode, TestBehavior

from observatory.dag_factory import raw_asset
from observatory.notify import on_failure_callback
from observatory.registry import load_registry
from observatory.settings import DBT_PROJECT_DIR

_sources = load_registry().sources.values()


@dag(
    dag_id="transform_warehouse",
    schedule=AssetAny(*(raw_asset(source) for source in _sources)),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "analytics-engineering", "retries": 2, "retry_delay": timedelta(minutes=1),
                  "retry_exponential_backoff": True, "on_failure_callback": on_failure_callback},
    tags=["observatory", "transform", "dbt"],
    doc_md=__doc__,
)
def transform_warehouse():
    DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json",
            project_name="observatory",
            dbt_project_path=DBT_PROJECT_DIR,
        ),
        profile_config=ProfileConfig(
            profile_name="observatory", target_name="warehouse", profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml"
        ),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.LOCAL),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_ALL,
                                   emit_datasets=False),
        operator_args={"install_deps": False},
    )


transform_warehouse()
