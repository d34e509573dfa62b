"""
### Transform the warehouse

Runs the dbt project (staging → intermediate → marts) with astronomer-cosmos whenever a collection DAG
publishes a batch (data-aware scheduling on the raw assets). The DAG is rendered from the manifest that
`make manifest` builds (`dbt_project/target/manifest.json`), so no dbt runs while this file is parsed.
Every seed and model runs first (one task per node, `dbt seed` / `dbt run`); the project's tests run after all
of them, in the one task `dbt.dbt_project_test` at the end (cosmos `TestBehavior.AFTER_ALL`), so a failing test
fails the run after the models were built. Marts are tables swapped in atomically and readable by the
`bi_reader` role only. `OBSERVATORY_DBT_SELECT` (dbt selection syntax) renders part of the project only; by
default the DAG renders all of it. Lineage: with the Airflow OpenLineage provider installed, cosmos gives each dbt
task's OpenLineage events the tables its node read and built (from dbt's artifacts), in the warehouse's
`postgres://<host>:<port>` namespace.
"""

import os
from datetime import timedelta

from airflow.sdk import AssetAny, dag
from cosmos import DbtTaskGroup, ExecutionConfig, RenderConfig
from cosmos.constants import ExecutionMode, LoadMode, TestBehavior

from observatory.airflow.cosmos_config import profile_config, project_config
from observatory.airflow.dag_factory import START_DATE, owner_links, raw_asset, task_defaults
from observatory.config.registry import load_registry

_sources = load_registry().sources.values()
# dbt selection of the nodes to render (dbt syntax, space-separated, e.g. "+fct_indicator_observation"); default all
_select = os.environ.get("OBSERVATORY_DBT_SELECT", "").split()
DBT_TASK_DOC = (
    "One node of the dbt project (cosmos, in-process dbt): `dbt seed` or `dbt run` of that seed or model, or, for "
    "`dbt.dbt_project_test`, every test of the project once all models are built. The dbt log is in this task's log."
)


@dag(
    dag_id="transform_warehouse",
    schedule=AssetAny(*(raw_asset(source) for source in _sources)),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults("analytics-engineering", retry_delay=timedelta(minutes=1)),
    description="dbt build of staging, intermediate and marts (cosmos), started by any collection's asset event",
    owner_links=owner_links("analytics-engineering"),
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
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.AFTER_ALL,
            emit_datasets=False,
            select=_select,
        ),
        operator_args={"install_deps": False, "doc_md": DBT_TASK_DOC},
    )


transform_warehouse()
