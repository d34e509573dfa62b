"""The whole pipeline once, on the bundled sample data, through real Airflow, dbt, GX and PostgreSQL."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from observatory import warehouse
from observatory.airflow_runner import airflow_env, build_manifest, migrate_metadata, test_dag
from observatory.bootstrap import ensure_warehouse_schema
from observatory.registry import load_registry
from observatory.samples import serve_directory
from observatory.summary import print_summary


def ensure_warehouse() -> str:
    """The DSN of the warehouse in use, starting the local cluster unless an external DSN is set."""
    conninfo = warehouse.dsn() if os.environ.get(warehouse.DSN_ENV) else warehouse.start_local()
    with warehouse.connect() as conn:
        ensure_warehouse_schema(conn)
    return conninfo


def run_demo(logical_date: datetime | None = None) -> None:
    logical_date = logical_date or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    started = time.monotonic()
    conninfo = ensure_warehouse()
    server, base_url = serve_directory()
    try:
        env = airflow_env(conninfo, {"OBSERVATORY_SAMPLE_BASE_URL": base_url})
        step("Airflow metadata DB", migrate_metadata, env)
        step("dbt manifest", build_manifest, env)
        for source_id in load_registry().sources:
            step(f"DAG collect__{source_id}", test_dag, f"collect__{source_id}", logical_date, env)
        step("DAG transform_warehouse (dbt via cosmos)", test_dag, "transform_warehouse", logical_date, env)
    finally:
        server.shutdown()
    print(f"\npipeline finished in {time.monotonic() - started:.0f}s; warehouse: {redact(conninfo)}\n")
    with warehouse.connect() as conn:
        print_summary(conn)


def step(label: str, function, *args) -> None:
    started = time.monotonic()
    function(*args)
    print(f"ok  {label} ({time.monotonic() - started:.1f}s)", flush=True)


def redact(conninfo: str) -> str:
    parts = warehouse.dsn_parts(conninfo)
    return f"postgresql://{parts['user']}:***@{parts['host']}:{parts['port']}/{parts['dbname']}"
