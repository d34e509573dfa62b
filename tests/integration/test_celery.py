"""The distributed path without Docker: a real Redis broker, Airflow metadata in PostgreSQL, the api-server
(Execution API) and two real ``airflow celery worker`` processes, each with its own AIRFLOW_HOME, working
directory and TMPDIR. ``airflow dags test --use-executor`` schedules one collection DAG with the CeleryExecutor;
a cluster policy alternates its tasks between the workers' queues (fetch, validate → a; stage, publish → b), so
the run only succeeds if the tasks share nothing but the warehouse, the Execution API and the landing zone.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from observatory.warehouse import connection
from observatory_dev.celery_harness import CeleryStack
from observatory_dev.process_groups import group_alive

DAG_ID = "collect__eurostat_lfsa_ergan"
ROUTES = {"fetch": "observatory-a", "stage": "observatory-b", "validate": "observatory-a", "publish": "observatory-b"}


@dataclass
class CeleryRun:
    stack: CeleryStack
    task_instances: dict[str, dict]
    worker_logs: dict[str, str]
    task_logs: dict[str, dict[str, Path]]
    process_groups: dict[str, int]


@pytest.fixture(scope="module")
def celery_run(warehouse_dsn: str, sample_base_url: str, tmp_path_factory: pytest.TempPathFactory) -> CeleryRun:
    """Run the DAG once through Redis and the workers, keep the evidence, then stop every process group."""
    stack = CeleryStack(
        tmp_path_factory.mktemp("celery"),
        warehouse_dsn,
        queues=tuple(sorted(set(ROUTES.values()))),
        extra_env={"OBSERVATORY_SAMPLE_BASE_URL": sample_base_url},
    )
    with stack:
        stack.route(ROUTES)
        stack.run_dag(DAG_ID, datetime(2026, 4, 1, tzinfo=UTC))
        with psycopg.connect(connection.local_dsn(stack.metadata_database)) as conn:
            rows = conn.execute(
                """select task_id, state, queue, hostname, pid, id::text
                   from task_instance where dag_id = %s""",
                (DAG_ID,),
            ).fetchall()
        task_instances = {
            row[0]: dict(zip(("task_id", "state", "queue", "hostname", "pid", "ti_id"), row, strict=True))
            for row in rows
        }
    # read after the stop: a worker logs a task's success after the task has already reported it
    worker_logs = {name: service.log() for name, service in stack.services.items()}
    task_logs = {name: stack.task_logs(name) for name in stack.services}
    groups = {name: service.process.pid for name, service in stack.services.items()}
    print("celery timings:", stack.timings)
    return CeleryRun(stack, task_instances, worker_logs, task_logs, groups)


def test_each_task_ran_on_the_worker_of_its_queue(celery_run: CeleryRun) -> None:
    assert set(celery_run.task_instances) == set(ROUTES)
    for task_id, queue in ROUTES.items():
        ti = celery_run.task_instances[task_id]
        assert (ti["state"], ti["queue"]) == ("success", queue)
        assert ti["hostname"] and ti["pid"]
        worker, other = f"worker-{queue}", f"worker-{next(q for q in ROUTES.values() if q != queue)}"
        # The worker process took this task instance's workload from Redis and Celery ran it to success ...
        received = re.search(
            rf"\[([0-9a-f-]{{36}})\] Executing workload in Celery: [^\n]*id=UUID\('{ti['ti_id']}'\)",
            celery_run.worker_logs[worker],
        )
        assert received, f"{task_id} not received by {worker}"
        assert f"Task execute_workload[{received[1]}] succeeded" in celery_run.worker_logs[worker]
        assert ti["ti_id"] not in celery_run.worker_logs[other]
        # ... and the task's log was written under that worker's own AIRFLOW_HOME, nowhere else.
        assert task_id in celery_run.task_logs[worker] and task_id not in celery_run.task_logs[other]
        assert f'"task_id":"{task_id}"' in celery_run.task_logs[worker][task_id].read_text()
    assert celery_run.task_logs["scheduler"] == {}, "the scheduling process must not run tasks itself"


def test_rows_landed_in_the_warehouse_through_the_shared_landing_zone(
    celery_run: CeleryRun, warehouse_dsn: str
) -> None:
    with psycopg.connect(warehouse_dsn) as conn:
        value = conn.execute(
            """select value from raw.eurostat_observation
               where source_id = %s and geo = 'DE' and time_period = '2024'
                 and dimensions @> '{"citizen": "NEU27_2020_FOR", "sex": "T"}'""",
            (DAG_ID.removeprefix("collect__"),),
        ).fetchone()
        rows = conn.execute(
            "select count(*) from raw.eurostat_observation where source_id = 'eurostat_lfsa_ergan'"
        ).fetchone()[0]
        status = conn.execute("""select status, row_count from audit.batch
                                 where load_id = 'eurostat_lfsa_ergan__20260401_000000'""").fetchone()
        landing_paths = [
            path
            for (path,) in conn.execute(
                "select landing_path from audit.fetch_log where load_id = 'eurostat_lfsa_ergan__20260401_000000'"
            )
        ]
    assert value == (62.6,)  # lfsa_ergan: Germany 2024, non-EU citizens, both sexes
    assert status == ("published", rows) and rows > 1000
    # fetch (worker a) wrote the bytes into the configured landing zone; stage (worker b) read them from there.
    assert landing_paths and all((celery_run.stack.landing_dir / path).is_file() for path in landing_paths)


def test_every_process_group_is_gone_afterwards(celery_run: CeleryRun) -> None:
    assert {"redis", "api-server", "worker-observatory-a", "worker-observatory-b", "scheduler"} == set(
        celery_run.process_groups
    )
    assert not [name for name, pgid in celery_run.process_groups.items() if group_alive(pgid)]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", celery_run.stack.redis_port), timeout=1).close()
    with psycopg.connect(connection.local_dsn("postgres")) as conn:
        assert (
            conn.execute(
                "select 1 from pg_database where datname = %s", (celery_run.stack.metadata_database,)
            ).fetchone()
            is None
        )
