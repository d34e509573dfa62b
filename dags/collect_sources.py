"""Airflow collection DAGs, one per entry of ``sources.yml`` (``collect__<source_id>``); see
observatory.airflow.dag_factory."""

from observatory.airflow.dag_factory import collection_dag
from observatory.config.registry import load_registry

for _source in load_registry().sources.values():
    globals()[f"collect__{_source.source_id}"] = collection_dag(_source)
