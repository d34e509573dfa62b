"""``make up`` / ``make status`` / ``make down``: the whole stack on this machine, in the background, no Docker.

The warehouse (``observatory up``), the sample mirror (``observatory_dev.sample_server``, the server the demo uses;
its URL is exported to every Airflow process as ``OBSERVATORY_SAMPLE_BASE_URL`` and ``OBSERVATORY_MIRROR_URL``), and
Airflow's scheduler (LocalExecutor), dag-processor, triggerer and api-server (bound to 127.0.0.1). Airflow's metadata
is the database ``airflow`` of the local PostgreSQL cluster; its home is ``.local/airflow``; logs and pid files are
under ``.local/stack/``. The observatory's DAGs are unpaused when they are created here, so an asset event starts
``transform_warehouse`` without anyone unpausing it.

Every process is started in a session of its own, so ``down`` stops a process with all its children (LocalExecutor
workers, task supervisors) by signalling its process group; ``down`` is safe to call when nothing runs.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from observatory.config.registry import load_registry
from observatory.config.settings import Settings
from observatory.warehouse import connection
from observatory_dev.airflow_runner import airflow_env, link_plugins, migrate_metadata
from observatory_dev.process_groups import group_alive

AIRFLOW_PARTS = ("dag-processor", "scheduler", "triggerer", "api-server")
MIRROR = "mirror"
ADMIN_USER = "admin"
HEALTH_TIMEOUT = 240.0  # seconds; a cold start on 2 busy cores takes about a minute
STOP_TIMEOUT = 15.0
# third-party loggers that fill a task log with INFO lines nobody reads (GX alone writes ~200 per validation; the
# OpenLineage provider one per event, after a failed task's summary line)
QUIET_LOGGERS = (
    "great_expectations=WARNING sqlalchemy=WARNING urllib3=WARNING httpx=WARNING botocore=WARNING "
    "airflow.providers.openlineage=WARNING"
)


class StackError(RuntimeError):
    """A part of the stack did not start or is not healthy."""


@dataclass(frozen=True)
class Stack:
    """One local stack: where its state lives and which ports it uses. ``settings.local_dir`` holds the Airflow
    home, the landing zone and ``stack/`` (logs, pid files, the JWT secret)."""

    settings: Settings
    api_port: int = 8080
    mirror_port: int = 8070
    metadata_db: str = "airflow"
    sample_dir: Path | None = None  # what the mirror serves; default the bundled sample data
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Stack:
        env = os.environ if environ is None else environ
        return cls(
            Settings.from_env(env),
            api_port=int(env.get("OBSERVATORY_AIRFLOW_PORT", "8080")),
            mirror_port=int(env.get("OBSERVATORY_MIRROR_PORT", "8070")),
        )

    @property
    def state_dir(self) -> Path:
        return self.settings.local_dir / "stack"

    @property
    def home(self) -> Path:
        return self.settings.local_dir / "airflow"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def mirror_url(self) -> str:
        return f"http://127.0.0.1:{self.mirror_port}"

    @property
    def password_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    def pid_file(self, part: str) -> Path:
        return self.state_dir / f"{part}.pid"

    def log_file(self, part: str) -> Path:
        return self.state_dir / "logs" / f"{part}.log"

    def password(self) -> str:
        return json.loads(self.password_file.read_text())[ADMIN_USER]


def jwt_secret(stack: Stack) -> str:
    """The secret every Airflow process signs and checks its tokens with (kept, so a restart keeps sessions)."""
    path = stack.state_dir / "jwt_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def metadata_conn(stack: Stack) -> str:
    """SQLAlchemy URL of Airflow's metadata database in the local cluster (created when missing)."""
    connection.start_local()
    connection.ensure_database(stack.metadata_db)
    parts = connection.dsn_parts(connection.local_dsn(stack.metadata_db))
    password = quote(parts["password"], safe="")
    return f"postgresql+psycopg2://{parts['user']}:{password}@{parts['host']}:{parts['port']}/{stack.metadata_db}"


def stack_env(stack: Stack, warehouse: str, metadata: str) -> dict[str, str]:
    """The environment of every Airflow process: the demo's settings (``airflow_env``) plus the stack's."""
    settings = stack.settings
    return airflow_env(
        warehouse,
        {
            "AIRFLOW_HOME": str(stack.home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{stack.ui_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(stack.api_port),
            "AIRFLOW__API__BASE_URL": stack.ui_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret(stack),
            "AIRFLOW__COSMOS__CACHE_DIR": str(settings.local_dir / "cosmos"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__LOGGING__NAMESPACE_LEVELS": QUIET_LOGGERS,
            # the default 5 s is too short for an api-server sharing two cores with dbt and GX
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
            "OBSERVATORY_LOCAL_DIR": str(settings.local_dir),
            "OBSERVATORY_LANDING_DIR": str(settings.landing_dir),
            "OBSERVATORY_REGISTRY": str(settings.registry_path),
            "OBSERVATORY_SAMPLE_BASE_URL": stack.mirror_url,
            "OBSERVATORY_MIRROR_URL": stack.mirror_url,
            "OBSERVATORY_AIRFLOW_API_URL": stack.ui_url,
            "OBSERVATORY_AIRFLOW_PASSWORD_FILE": str(stack.password_file),
            **stack.extra_env,
        },
    )


def commands(stack: Stack) -> dict[str, list[str]]:
    """What each part runs."""
    bin_dir = Path(sys.executable).parent
    mirror = [sys.executable, "-m", "observatory_dev.sample_server", "--port", str(stack.mirror_port)]
    if stack.sample_dir is not None:
        mirror += ["--directory", str(stack.sample_dir)]
    airflow = {part: [str(bin_dir / "airflow"), part] for part in AIRFLOW_PARTS}
    airflow["api-server"] += ["--host", "127.0.0.1", "--port", str(stack.api_port)]
    # Airflow's log servers listen on every address (they have no host setting); every process runs on this
    # machine, so the api-server reads task logs from their files and the stack listens on 127.0.0.1 only
    for part in ("scheduler", "triggerer"):
        airflow[part].append("--skip-serve-logs")
    return {MIRROR: mirror, **airflow}


def running_pid(stack: Stack, part: str) -> int | None:
    """The pid of ``part`` if its pid file names a live process that is still the one started (same start
    time: a reused pid is not ours), else None."""
    import psutil

    try:
        pid, created = stack.pid_file(part).read_text().split()
        process = psutil.Process(int(pid))
        if abs(process.create_time() - float(created)) > 1 or process.status() == psutil.STATUS_ZOMBIE:
            return None
    except (FileNotFoundError, ValueError, psutil.Error):
        return None
    return process.pid


def start_part(stack: Stack, part: str, env: Mapping[str, str]) -> int:
    """Start ``part`` in a session of its own (its pid is its process group), output to its log file."""
    import psutil

    if pid := running_pid(stack, part):
        return pid
    log = stack.log_file(part)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            commands(stack)[part],
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=stack.settings.project_root,
        )
    stack.pid_file(part).write_text(f"{process.pid} {psutil.Process(process.pid).create_time()}")
    return process.pid


def up(stack: Stack, timeout: float = HEALTH_TIMEOUT) -> float:
    """Start every part (those already running are kept) and wait until healthy; returns the seconds it took."""
    from observatory.warehouse.bootstrap import ensure_warehouse

    started = time.monotonic()
    warehouse = ensure_warehouse(stack.settings)
    env = stack_env(stack, warehouse, metadata_conn(stack))
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    link_plugins(stack.home)  # the repository's plugins/ (the Observatory view) as $AIRFLOW_HOME/plugins
    migrate_metadata(env)
    deadline = time.monotonic() + timeout
    # the api-server first: a task that the scheduler starts before the execution API answers times out
    for part in (MIRROR, "api-server"):
        start_part(stack, part, env)
    wait_until(stack, deadline, lambda: api_answers(stack), (MIRROR, "api-server"))
    for part in AIRFLOW_PARTS:
        start_part(stack, part, env)
    wait_until(stack, deadline, lambda: health_problem(stack), (MIRROR, *AIRFLOW_PARTS))
    return time.monotonic() - started


def wait_until(stack: Stack, deadline: float, problem: Callable[[], str | None], parts: tuple[str, ...]) -> None:
    """Until ``problem()`` is None; a part of ``parts`` that dies is a ``StackError`` with the end of its log."""
    found: str | None = "not checked yet"
    while time.monotonic() < deadline:
        for part in parts:
            if running_pid(stack, part) is None:
                tail = stack.log_file(part).read_text(errors="replace")[-3000:]
                raise StackError(f"{part} is not running; the end of {stack.log_file(part)}:\n{tail}")
        found = problem()
        if found is None:
            return
        time.sleep(1.0)
    raise StackError(f"the stack was not healthy in time: {found}")


def api_answers(stack: Stack) -> str | None:
    """None once the api-server answers its health endpoint, else why not."""
    import requests

    try:
        requests.get(f"{stack.ui_url}/api/v2/monitor/health", timeout=5).raise_for_status()
    except requests.RequestException as exc:
        return f"api-server: {type(exc).__name__}"
    return None


def health_problem(stack: Stack) -> str | None:
    """What is not healthy yet, or None."""
    import requests

    try:
        requests.get(f"{stack.mirror_url}/mirror/index.yml", timeout=5).raise_for_status()
        health = requests.get(f"{stack.ui_url}/api/v2/monitor/health", timeout=5).json()
    except (requests.RequestException, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    unhealthy = sorted(name for name, part in health.items() if (part or {}).get("status") != "healthy")
    if unhealthy:
        return f"not healthy: {', '.join(unhealthy)}"
    try:
        listed = set(dag_ids(ApiClient.login(stack)))
    except (requests.RequestException, KeyError, FileNotFoundError) as exc:
        return f"cannot list the DAGs: {type(exc).__name__}: {exc}"
    missing = expected_dags(stack) - listed
    return f"DAGs not parsed yet: {', '.join(sorted(missing))}" if missing else None


def expected_dags(stack: Stack) -> set[str]:
    """The collection DAG of every registry entry, and ``transform_warehouse``."""
    sources = load_registry(settings=stack.settings).sources
    return {f"collect__{source_id}" for source_id in sources} | {"transform_warehouse"}


@dataclass
class ApiClient:
    """Airflow's REST API (``/api/v2``) with a JWT from ``/auth/token``."""

    base_url: str
    token: str

    @classmethod
    def login(cls, stack: Stack) -> ApiClient:
        import requests

        answer = requests.post(
            f"{stack.ui_url}/auth/token", json={"username": ADMIN_USER, "password": stack.password()}, timeout=10
        )
        answer.raise_for_status()
        return cls(f"{stack.ui_url}/api/v2", answer.json()["access_token"])

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        import requests

        answer = requests.request(
            method,
            f"{self.base_url}{path}",
            json=body,
            params=params or None,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        if answer.status_code >= 400:
            raise StackError(f"{method} {path}: HTTP {answer.status_code}: {answer.text[:500]}")
        return answer.json() if answer.content else None


def dag_ids(api: ApiClient) -> list[str]:
    return [dag["dag_id"] for dag in api.call("GET", "/dags", limit=1000)["dags"]]


def trigger(api: ApiClient, dag_id: str, logical_date: datetime) -> str:
    """Trigger a run of ``dag_id`` for ``logical_date``; returns its run id."""
    run = api.call("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": logical_date.isoformat()})
    return run["dag_run_id"]


def backfill(api: ApiClient, dag_id: str, from_date: datetime, to_date: datetime) -> int:
    """Create a backfill of ``dag_id`` with the DAG's own ``max_active_runs`` (the API's default is 10, which
    would run the intervals at once); returns the backfill's id."""
    max_active_runs = api.call("GET", f"/dags/{dag_id}/details")["max_active_runs"]
    body = {
        "dag_id": dag_id,
        "from_date": from_date.isoformat(),
        "to_date": to_date.isoformat(),
        "max_active_runs": max_active_runs,
    }
    return api.call("POST", "/backfills", body)["id"]


def stop_parts(stack: Stack, parts: tuple[str, ...], timeout: float = STOP_TIMEOUT) -> list[str]:
    """Stop ``parts`` with their whole process groups, all at once (SIGTERM, then SIGKILL for what is left after
    ``timeout`` seconds); returns the parts that were running."""
    pids = {part: pid for part in parts if (pid := running_pid(stack, part))}
    for part in parts:
        stack.pid_file(part).unlink(missing_ok=True)
    for sent in (signal.SIGTERM, signal.SIGKILL):
        alive = [pid for pid in pids.values() if group_alive(pid)]
        for pid in alive:
            try:
                os.killpg(pid, sent)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + timeout
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = [pid for pid in alive if group_alive(pid)]
    return list(pids)


def down(stack: Stack, *, stop_warehouse: bool = True) -> list[str]:
    """Stop the Airflow parts, the mirror and (``stop_warehouse``) the local warehouse; returns what was stopped."""
    stopped = stop_parts(stack, (*reversed(AIRFLOW_PARTS), MIRROR))
    if stop_warehouse and connection.stop_local():
        stopped.append("warehouse")
    return stopped


def status_lines(stack: Stack) -> list[str]:
    """One line per part: name, running or not, pid, port or URL."""
    where = {MIRROR: stack.mirror_url, "api-server": stack.ui_url}
    lines = []
    warehouse = connection.is_local_running()
    lines.append(f"{'warehouse':<14}{'running' if warehouse else 'stopped':<9}port {connection.local_port()}")
    for part in (MIRROR, *AIRFLOW_PARTS):
        pid = running_pid(stack, part)
        state = f"{'running':<9}pid {pid:<8}" if pid else f"{'stopped':<9}{'':<12}"
        lines.append(f"{part:<14}{state}{where.get(part, '')}".rstrip())
    return lines


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="observatory_dev.local_stack", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    args = parser.parse_args(argv)
    stack = Stack.from_env()
    if args.command == "up":
        try:
            seconds = up(stack)
        except StackError as exc:
            print(f"make up: {exc}", file=sys.stderr)
            return 1
        print(f"stack healthy in {seconds:.0f}s; logs in {stack.state_dir / 'logs'}")
        print(f"Airflow UI: {stack.ui_url}")
        print(f"login: user {ADMIN_USER}, password {stack.password()} (in {stack.password_file})")
    elif args.command == "down":
        stopped = down(stack)
        print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    else:
        print("\n".join(status_lines(stack)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
