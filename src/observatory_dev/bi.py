"""``make bi`` / ``make bi-down``: Apache Superset on the marts, on this machine, provisioned from the repository.

Superset (pinned in ``bi/superset/requirements.txt``) lives in its own virtual environment ``.local/bi/venv``: its
pins differ from Airflow's. Its state is a home directory (``.local/bi`` for ``make bi``, a temporary one in the
tests): SQLite metadata ``superset.db``, the generated ``secret_key`` and ``admin.json`` (all three 0600), the log
and the pid file. Migrating and initialising a new home takes a minute, so the first one set up becomes a template
(``.local/bi/template``) that later homes are copied from. The server (gunicorn, one worker) binds 127.0.0.1 only;
the settings are ``bi/superset/superset_config.py``, shared with docker-compose.yml. The warehouse's marts are added
as ``bi_reader`` (``observatory dsn --reader``) and the datasets, charts and dashboard imported from
``bi/superset/assets`` by observatory.reporting.bi_setup, the same code the compose stack's ``bi-setup`` service runs.

    python -m observatory_dev.bi start    # prints the dashboard URL and the admin login
    python -m observatory_dev.bi stop     # safe when nothing runs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from observatory.config.settings import Settings
from observatory.reporting.bi_setup import DASHBOARD_SLUG, SupersetSettings, configure_superset
from observatory.warehouse import connection
from observatory_dev.process_groups import group_alive, stop_group

DEFAULT_PORT = 8088
ADMIN_USER = "admin"
START_TIMEOUT = 240.0  # seconds: gunicorn loading Superset on 2 busy cores
REQUIREMENTS_STAMP = ".requirements.sha256"
APP = "superset.app:create_app()"  # what gunicorn serves


class BiError(RuntimeError):
    """Superset could not be installed, set up or started."""


@dataclass(frozen=True)
class Superset:
    """One Superset: its home (state), its port, and the repository whose bi/superset it runs."""

    home: Path
    port: int = DEFAULT_PORT
    project_root: Path = field(default_factory=lambda: Settings.from_env().project_root)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dashboard_url(self) -> str:
        return f"{self.url}/superset/dashboard/{DASHBOARD_SLUG}/"

    @property
    def bi_dir(self) -> Path:
        return self.project_root / "bi" / "superset"

    @property
    def pid_file(self) -> Path:
        return self.home / "superset.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "superset.log"


def venv_dir(settings: Settings) -> Path:
    return settings.local_dir / "bi" / "venv"


def private_file(path: Path, make: Callable[[], str]) -> str:
    """The content of ``path``, written once by ``make()`` with mode 0600."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def admin_password(superset: Superset) -> str:
    document = private_file(
        superset.home / "admin.json",
        lambda: json.dumps({"username": ADMIN_USER, "password": secrets.token_urlsafe(18)}),
    )
    return json.loads(document)["password"]


def ensure_venv(settings: Settings, requirements: Path) -> Path:
    """Superset's virtual environment, (re)installed with uv when the requirements file changed."""
    venv = venv_dir(settings)
    stamp = venv / REQUIREMENTS_STAMP
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return venv
    uv = str(Path(sys.executable).parent / "uv")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    for args in (
        [uv, "venv", "--quiet", "--allow-existing", "--python", python, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "-r", str(requirements)],
    ):
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            raise BiError(f"{' '.join(args[:3])} failed: {result.stderr[-2000:]}")
    stamp.write_text(digest)
    return venv


def superset_env(superset: Superset, venv: Path) -> dict[str, str]:
    secret = private_file(superset.home / "secret_key", lambda: secrets.token_urlsafe(42))
    return {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "SUPERSET_CONFIG_PATH": str(superset.bi_dir / "superset_config.py"),
        "SUPERSET_SECRET_KEY": secret,
        "SUPERSET_METADATA_URI": f"sqlite:///{superset.home / 'superset.db'}",
        "SUPERSET_HOME": str(superset.home),
    }


# `superset db upgrade`, `fab create-admin` and `init` in one process: Superset is imported once, not three times.
SET_UP_METADATA = """
import sys
from superset.cli.main import superset
for args in (
    ["db", "upgrade"],
    ["fab", "create-admin", "--username", sys.argv[1], "--password", sys.argv[2], "--firstname", "Observatory",
     "--lastname", "Admin", "--email", "admin@example.org"],
    ["init"],
):
    superset.main(args, standalone_mode=False)
"""
HOME_FILES = ("superset.db", "secret_key", "admin.json")


def set_up_metadata(settings: Settings, superset: Superset, venv: Path) -> None:
    """Superset's metadata migrated, its roles and permissions synced and the admin created, once per home. The
    first home set up on this machine becomes the template (``.local/bi/template``) that later homes are copied
    from (with its secret key and admin login), until the requirements change."""
    stamp = superset.home / ".initialised"
    if stamp.exists():
        return
    template = settings.local_dir / "bi" / "template"
    digest = (venv / REQUIREMENTS_STAMP).read_text()
    if (template / REQUIREMENTS_STAMP).exists() and (template / REQUIREMENTS_STAMP).read_text() == digest:
        for name in HOME_FILES:
            shutil.copy2(template / name, superset.home / name)
        stamp.touch()
        return
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", SET_UP_METADATA, ADMIN_USER, admin_password(superset)],
        env=superset_env(superset, venv),
        capture_output=True,
        text=True,
        cwd=superset.home,
    )
    if result.returncode != 0:
        raise BiError(f"superset db upgrade / create-admin / init failed:\n{(result.stdout + result.stderr)[-3000:]}")
    (superset.home / "superset.db").chmod(0o600)  # the admin's password hash; later the warehouse password
    stamp.touch()
    if template != superset.home:
        shutil.rmtree(template, ignore_errors=True)
        template.mkdir(parents=True)
        for name in HOME_FILES:
            shutil.copy2(superset.home / name, template / name)
        (template / REQUIREMENTS_STAMP).write_text(digest)


def running_pid(superset: Superset) -> int | None:
    """The pid (= process group) of this home's gunicorn, if it runs (not some later process with that pid)."""
    import psutil

    if not superset.pid_file.exists():
        return None
    pid = int(superset.pid_file.read_text())
    try:
        ours = APP in psutil.Process(pid).cmdline()
    except psutil.Error:
        return None
    return pid if ours and group_alive(pid) else None


def start(settings: Settings, superset: Superset, reader_dsn: str, timeout: float = START_TIMEOUT) -> float:
    """Install, set up, start (unless running) and provision Superset on the marts that ``reader_dsn`` (bi_reader's
    connection string) reads; returns the seconds it took."""
    started = time.monotonic()
    superset.home.mkdir(parents=True, exist_ok=True)
    venv = ensure_venv(settings, superset.bi_dir / "requirements.txt")
    set_up_metadata(settings, superset, venv)
    env = superset_env(superset, venv)
    if running_pid(superset) is None:
        with superset.log_file.open("ab") as log:
            process = subprocess.Popen(
                [str(venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{superset.port}", "--workers", "1",
                 "--threads", "8", "--timeout", "120", APP],
                env=env, cwd=superset.home, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        superset.pid_file.write_text(str(process.pid))
    reader = connection.dsn_parts(reader_dsn)
    try:
        configure_superset(
            SupersetSettings(
                superset.url,
                ADMIN_USER,
                admin_password(superset),
                reader["host"],
                int(reader["port"]),
                reader["dbname"],
                reader["password"],
                superset.bi_dir / "assets",
            ),
            timeout=timeout,
        )
    except Exception as exc:
        raise BiError(f"{exc}\n--- {superset.log_file} (tail) ---\n{tail(superset.log_file)}") from exc
    return time.monotonic() - started


def tail(path: Path, characters: int = 3000) -> str:
    return path.read_text(errors="replace")[-characters:] if path.exists() else ""


def stop(superset: Superset, timeout: float = 20) -> bool:
    """Stop the server's whole process group (gunicorn's master and worker); whether one was running."""
    pid = running_pid(superset)
    if pid is None:
        superset.pid_file.unlink(missing_ok=True)
        return False
    stop_group(pid, term_wait=timeout)
    superset.pid_file.unlink(missing_ok=True)
    return True


def local_superset(settings: Settings) -> Superset:
    """``make bi``'s Superset: home ``.local/bi``, port OBSERVATORY_BI_PORT (default 8088)."""
    return Superset(settings.local_dir / "bi", int(os.environ.get("OBSERVATORY_BI_PORT", DEFAULT_PORT)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m observatory_dev.bi", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("start", "stop"))
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    superset = local_superset(settings)
    if args.command == "stop":
        print("bi: Superset stopped" if stop(superset) else "bi: Superset was not running")
        return 0
    from observatory.warehouse.bootstrap import ensure_warehouse

    ensure_warehouse(settings)  # bi_reader can log in
    seconds = start(settings, superset, connection.reader_dsn())
    print(f"bi: Superset ready in {seconds:.0f}s (log {superset.log_file})")
    print(f"bi: dashboard {superset.dashboard_url}")
    print(f"bi: login {ADMIN_USER} / password in {superset.home / 'admin.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
