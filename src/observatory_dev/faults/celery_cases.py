"""The Celery case of the fault lab: a worker SIGKILLed while it runs a collection task. Real Redis, two real
Celery workers on one queue, the api-server, a real scheduler and dag-processor (``observatory_dev.celery_harness``);
the case's collection DAG is triggered through the REST API; the fault server holds its answer to the fetch, and
the worker holding the fetch is killed with every process group of its tree (the task's own process too). Airflow
must find the lost task by its heartbeat timeout and retry it on the other worker; the run must end ``success``
and, judged like the other cases (``observatory_dev.faults.lab``), publish the day-2 rows once each, with one
fetch in ``audit.fetch_log`` and one published batch."""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from observatory_dev.faults.cases import FAULT_DAY, WORKER_KILLED_THEN_RETRIED, FaultCase, Observation
from observatory_dev.faults.hostile_cases import HostileCase
from observatory_dev.faults.payloads import TSV, eurostat_tsv
from observatory_dev.faults.server import Reply, ScriptedResource

if TYPE_CHECKING:
    from observatory_dev.celery_harness import CeleryStack
    from observatory_dev.faults.lab import FaultLab

CELERY_RUNS = frozenset({"celery_worker_killed"})
HELD = 30.0  # seconds the server holds its answer to the fetch that is killed (never sent: the task is gone)
QUEUE = "default"
TASKS = ("fetch", "stage", "validate", "publish")
KILLED_TASK = "fetch"  # the task whose worker is killed: it waits for the server's held answer
# Airflow settings of this case's processes: a lost task is found within ~17 s rather than the default 5 minutes
# (a timeout of 15 s leaves a margin for a live task whose heartbeat, every 2 s, is slowed by a busy machine)
FAST_LOSS_DETECTION = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
}
# the case's registry entry as Airflow schedules it: only the triggered run, one retry, ~2 s before it
AIRFLOW_ENTRY = {"schedule": None, "retries": 1, "retry_delay_minutes": 0.02}


def run_worker_killed(
    lab: FaultLab, resource: ScriptedResource, case: FaultCase, source_id: str, env: dict[str, str], casedir: Path
) -> tuple[str | None, dict[str, Any]]:
    """Trigger the case's DAG; once its ``KILLED_TASK`` has asked the server (which holds the answer), SIGKILL the
    worker running it with its whole tree; wait for the run's end. Returns the run's failure (None if it
    succeeded) and what the fault left: tries per task, the worker killed, the worker the retry ran on."""
    from observatory_dev.celery_harness import CeleryStack, HarnessError
    from observatory_dev.process_groups import group_alive, kill_tree

    dag_id = f"collect__{source_id}"
    stack = CeleryStack(
        casedir / "celery",
        lab.dsn,
        queues=(QUEUE,),
        workers_per_queue=2,
        dag_files=("collect_sources.py",),
        with_scheduler=True,
        extra_env={**FAST_LOSS_DETECTION, "OBSERVATORY_LANDING_DIR": env["OBSERVATORY_LANDING_DIR"]},
        metadata_database=f"airflow_faults_{os.getpid()}",
    )
    notes: dict[str, Any] = {
        "fault hit": False,
        "published content": hashlib.sha256(case.loaded_payload()).hexdigest(),
    }
    groups: list[int] = []
    try:
        with stack:
            api = stack.api()
            run_id = stack.trigger(api, dag_id, FAULT_DAY)
            held = _held_task(stack, dag_id, KILLED_TASK, resource)
            worker = stack.worker_holding(held["pid"]) if held else None
            if worker is not None:
                groups = kill_tree(stack.services[worker].process.pid)
                stack.services[worker].process.wait(timeout=10)
                notes.update({"fault hit": True, "killed worker": worker})
            run = stack.wait_for_run(api, dag_id, run_id)
            instances = stack.task_instances(dag_id)
            notes["groups left"] = [pgid for pgid in groups if group_alive(pgid)]
    except HarnessError as exc:
        return f"HarnessError: {exc}", notes
    finally:
        notes["timings"] = dict(stack.timings)
    notes["tries"] = {ti["task_id"]: (ti["state"], ti["try_number"]) for ti in instances}
    logs = {name: service.log() for name, service in stack.services.items() if name.startswith("worker-")}
    retries = [ti["ti_id"] for ti in instances if ti["task_id"] == KILLED_TASK]  # the current try's id
    notes["retry ran on"] = sorted(name for name, log in logs.items() if any(_executed(log, i) for i in retries))
    error = None if run["state"] == "success" else f"run {run_id} of {dag_id} ended {run['state']}"
    return error, notes


def _held_task(stack: CeleryStack, dag_id: str, task_id: str, resource: ScriptedResource) -> dict | None:
    """The task instance of ``task_id`` once it runs and its request reached the server (which holds the answer);
    None if that did not happen in time."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        running = [ti for ti in stack.task_instances(dag_id) if ti["task_id"] == task_id and ti["state"] == "running"]
        if running and running[0]["pid"] and resource.request_times:
            return running[0]
        time.sleep(0.2)
    return None


def _executed(worker_log: str, ti_id: str) -> bool:
    return re.search(rf"Executing workload in Celery: [^\n]*id=UUID\('{ti_id}'\)", worker_log) is not None


def _retried_on_the_other_worker(seen: Observation) -> list[str]:
    """The killed task ran again (try 2) on the surviving worker, every other task once; nothing of the killed
    worker's tree is left; the fetch log names one fetch, of the published content; one batch is published."""
    notes = seen.notes
    wanted = {task: ("success", 2 if task == KILLED_TASK else 1) for task in TASKS}
    killed = notes.get("killed worker")
    problems = [f"tries {notes.get('tries')}, expected {wanted}"] * (notes.get("tries") != wanted)
    if notes.get("groups left"):
        problems.append(f"process groups of {killed} still running after the kill: {notes['groups left']}")
    ran_on = notes.get("retry ran on")
    if ran_on is None or len(ran_on) != 1 or ran_on == [killed]:
        problems.append(f"the retry ran on {ran_on}, not (only) on the worker that survived {killed}")
    fetched = [(fetch["outcome"], fetch["content_sha256"]) for fetch in seen.fetches]
    content = notes.get("published content")
    if fetched != [("fetched", content)]:
        problems.append(f"audit.fetch_log rows {fetched}, expected one fetch of the published content {content}")
    if len(seen.request_times) != 2:
        problems.append(f"the server saw {len(seen.request_times)} requests, expected the killed one and the retry")
    batches = sorted({row["load_id"] for row in seen.published})
    if batches != [(seen.batch or {}).get("load_id")]:
        problems.append(f"published batches {batches}, expected the day-2 batch only")
    return problems


CELERY_CASES: tuple[FaultCase, ...] = (
    HostileCase(  # a HostileCase for its registry fields of its own (entry), which Airflow reads
        "celery_worker_killed",
        "Celery worker SIGKILLed (with its task) during fetch; Airflow retries it on the other worker",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(geos=50), headers=TSV),
        # the killed try's request is held (never answered in time), the retry gets the day-2 file at once
        (
            Reply(eurostat_tsv(geos=50, version=2), headers=TSV, delay=HELD),
            Reply(eurostat_tsv(geos=50, version=2), headers=TSV),
        ),
        WORKER_KILLED_THEN_RETRIED,
        env={"OBSERVATORY_READ_TIMEOUT": str(2 * HELD)},
        run="celery_worker_killed",
        check=_retried_on_the_other_worker,
        entry=AIRFLOW_ENTRY,
    ),
)
