"""Redis restarted while a task is queued: a real Redis broker (persistent, as docker-compose.yml runs it), two real
Celery workers and ``airflow dags test --use-executor`` (observatory_dev.celery_harness). The worker of the stage
task's queue is stopped, so the stage task waits in Redis; Redis is restarted under it; then the worker comes back.
No task may be lost (the run completes), none may run twice (each task instance executed once, one fetch), and
the published rows must equal a clean run of the same interval (in this process)."""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from observatory import pipeline
from observatory.config.settings import Settings
from observatory.warehouse import connection
from observatory_dev.celery_harness import CeleryStack, stop_service

pytestmark = pytest.mark.integration

SOURCE = "eurostat_lfsa_ergan"
DAG_ID = f"collect__{SOURCE}"
ROUTES = {"fetch": "observatory-a", "stage": "observatory-b", "validate": "observatory-a", "publish": "observatory-b"}
DAY = datetime(2026, 4, 2, tzinfo=UTC)
LOAD_ID = pipeline.load_id_for(SOURCE, DAY)


def published_rows(dsn: str) -> tuple[int, str]:
    """Row count and a digest of the source's published rows."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            """select count(*), md5(string_agg(t::text, '|' order by t::text)) from raw.eurostat_observation as t
               where source_id = %s""",
            (SOURCE,),
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def executions(logs: dict[str, str], ti_id: str) -> dict[str, int]:
    """How many times each worker executed the task instance."""
    pattern = rf"Executing workload in Celery: [^\n]*id=UUID\('{ti_id}'\)"
    return {name: len(re.findall(pattern, log)) for name, log in logs.items()}


def test_a_task_queued_across_a_redis_restart_runs_once(
    warehouse_dsn: str, sample_base_url: str, tmp_path: Path
) -> None:
    stack = CeleryStack(
        tmp_path / "celery",
        warehouse_dsn,
        queues=tuple(sorted(set(ROUTES.values()))),
        extra_env={"OBSERVATORY_SAMPLE_BASE_URL": sample_base_url},
        redis_appendonly=True,
    )
    outcome: dict[str, object] = {}

    def run_dag() -> None:
        try:
            outcome["output"] = stack.run_dag(DAG_ID, DAY)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    with stack:
        stack.route(ROUTES)
        stop_service(stack.services["worker-observatory-b"])  # nobody takes stage: it waits in Redis
        run = threading.Thread(target=run_dag, daemon=True)
        run.start()
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and run.is_alive() and not stack.queued_messages("observatory-b"):
            time.sleep(0.2)
        assert stack.queued_messages("observatory-b") == 1, outcome
        # fetch's message is acknowledged only after its task has reported success: until then a lost connection
        # hands it out again (Airflow then refuses to run a finished task, but that is another case than this one)
        while time.monotonic() < deadline and stack.unacked_messages():
            time.sleep(0.2)
        assert stack.unacked_messages() == 0
        stack.restart_redis()
        assert stack.queued_messages("observatory-b") == 1  # the queued task survived the restart
        stack.start_worker("observatory-b")
        run.join(timeout=400)
        assert not run.is_alive() and "error" not in outcome, outcome.get("error")
        with psycopg.connect(connection.local_dsn(stack.metadata_database)) as conn:
            instances = conn.execute(
                "select task_id, state, try_number, id::text from task_instance where dag_id = %s", (DAG_ID,)
            ).fetchall()
    logs = {name: service.log() for name, service in stack.services.items() if name.startswith("worker-")}

    assert sorted((task_id, state, tries) for task_id, state, tries, _ in instances) == sorted(
        (task_id, "success", 1) for task_id in ROUTES
    )
    for task_id, _, _, ti_id in instances:
        assert executions(logs, ti_id) == {name: int(name == f"worker-{ROUTES[task_id]}") for name in logs}, task_id
    with psycopg.connect(warehouse_dsn) as conn:
        fetches = conn.execute("select count(*) from audit.fetch_log where load_id = %s", (LOAD_ID,)).fetchone()
        batch = conn.execute("select status, row_count from audit.batch where load_id = %s", (LOAD_ID,)).fetchone()
    after_the_restart = published_rows(warehouse_dsn)
    assert fetches == (1,) and batch == ("published", after_the_restart[0]) and after_the_restart[0] > 1000

    # a clean run of the same interval (in this process) publishes the same rows
    settings = Settings.from_env().replace(landing_dir=tmp_path / "clean-landing")
    assert pipeline.run_source(SOURCE, DAY, settings) == after_the_restart[0]
    assert published_rows(warehouse_dsn) == after_the_restart
