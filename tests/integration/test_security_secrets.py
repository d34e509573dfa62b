"""Security of an installation: the warehouse's passwords never in the repository, in logs or in files others can
read; the local warehouse on 127.0.0.1 only; and registry names that would become SQL refused at load."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import pytest

from observatory.config.settings import Settings
from observatory.warehouse import connection

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
SOURCE = "funding_esif_wales"  # demo entries read from local files: no server needed
FEED_SOURCE = "reports_city_network_feed"  # (one that logs what it fetches)
DAY = datetime(2026, 7, 1, tzinfo=UTC)
NOT_SCANNED = ("postgres/data", "landing", "cosmos")  # the cluster's own files, fetched payloads, dbt's cache
INSTALLED = {"venv", ".venv", "site-packages", "node_modules", "__pycache__"}  # installed software, not state
SECRET_NAME_PARTS = ("password", "secret")


def secret_files() -> list[Path]:
    """The files the project keeps its warehouse passwords in (those that exist on this installation)."""
    return [path for path in connection.secret_files() if path.exists()]


def passwords(warehouse_dsn: str) -> dict[str, str]:
    """The secrets no log or readable file may hold: each secret file's content and the warehouse DSN's password."""
    found = {str(path): path.read_text().strip() for path in secret_files()}
    found["OBSERVATORY_WAREHOUSE_DSN"] = unquote(urlsplit(warehouse_dsn).password or "")
    assert all(len(secret) >= 16 for secret in found.values()), "a generated password is at least 16 characters"
    return found


def state_files(root: Path, skip: tuple[str, ...] = ()) -> Iterator[Path]:
    """The files under ``root``, except the ``skip`` subtrees and installed software (a virtual environment)."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if (
            path.is_file()
            and not path.is_symlink()
            and not INSTALLED & set(relative.parts)
            and not any(relative.as_posix().startswith(part) for part in skip)
        ):
            yield path


def leaks(root: Path, secrets: dict[str, str], skip: tuple[str, ...] = ()) -> list[str]:
    """Files under ``root`` (see ``state_files``) that contain one of ``secrets``."""
    return [
        f"{path.relative_to(root).as_posix()} holds {name}"
        for path in state_files(root, skip)
        for name, secret in secrets.items()
        if secret.encode() in path.read_bytes()
    ]


def repository_text_files() -> Iterator[tuple[Path, bytes]]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=PROJECT, capture_output=True
    ).stdout.split(b"\0")
    for name in listed:
        path = PROJECT / name.decode()
        if name and path.is_file() and b"\0" not in (data := path.read_bytes())[:8192]:
            yield path, data


def test_no_installation_secret_is_in_a_repository_file(warehouse_dsn: str) -> None:
    secrets = passwords(warehouse_dsn)
    files = list(repository_text_files())
    assert len(files) > 100
    found = [
        f"{path.relative_to(PROJECT)} holds {name}"
        for path, data in files
        for name, secret in secrets.items()
        if secret.encode() in data
    ]
    assert found == []


def test_secret_files_under_local_are_readable_by_their_owner_only(warehouse_dsn: str) -> None:
    """The declared password files, any file named like a secret, and any file holding a password: mode 0600."""
    local = Settings.from_env().local_dir
    declared = secret_files()
    assert connection.cluster_dir() / "password" in declared
    named = [
        path for path in state_files(local, NOT_SCANNED) if any(part in path.name.lower() for part in SECRET_NAME_PARTS)
    ]
    holding = [local / line.split(" holds ")[0] for line in leaks(local, passwords(warehouse_dsn), skip=NOT_SCANNED)]
    loose = {
        f"{path.relative_to(local)}: {stat.filemode(path.stat().st_mode)}"
        for path in {*declared, *named, *holding}
        if stat.S_IMODE(path.stat().st_mode) != 0o600
    }
    assert loose == set()


def test_a_pipeline_run_logs_no_password(warehouse_dsn: str, tmp_path: Path) -> None:
    """Every logger at DEBUG (psycopg, the project's own) into a file while a feed is fetched and staged."""
    from observatory import pipeline

    handler = logging.FileHandler(tmp_path / "run.log")
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        settings = Settings.from_env().replace(landing_dir=tmp_path / "landing")
        landed = pipeline.fetch(FEED_SOURCE, DAY, settings)
        assert pipeline.stage(FEED_SOURCE, pipeline.load_id_for(FEED_SOURCE, DAY), landed, settings) > 0
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()
    assert (tmp_path / "run.log").stat().st_size > 0
    assert leaks(tmp_path, passwords(warehouse_dsn), skip=("landing",)) == []


def test_airflow_task_logs_hold_no_password(warehouse_dsn: str, tmp_path: Path) -> None:
    """A collection DAG run as the demo runs it (``airflow dags test``, task logs printed at INFO), its home
    (config, metadata, any log file) under the test's own directory: neither holds a password."""
    from observatory_dev.airflow_runner import airflow_env, migrate_metadata, test_dag

    home = tmp_path / "airflow"
    env = airflow_env(
        warehouse_dsn,
        {
            "AIRFLOW_HOME": str(home),
            "OBSERVATORY_LANDING_DIR": str(tmp_path / "landing"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        },
    )
    migrate_metadata(env)
    output = test_dag(f"collect__{SOURCE}", DAY, env)
    assert all(f"end task task_id={task}" in output for task in ("fetch", "stage", "validate", "publish")), output
    secrets = passwords(warehouse_dsn)
    assert [name for name, secret in secrets.items() if secret in output] == []
    assert leaks(tmp_path, secrets, skip=("landing",)) == []


def test_observatory_dsn_prints_the_dsn_on_stdout_and_nothing_else(warehouse_dsn: str) -> None:
    """It is the one command meant to show the password (to paste into a client): on stdout, once, nowhere else."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "observatory"), "dsn"],
        capture_output=True,
        text=True,
        env={**os.environ, connection.DSN_ENV: warehouse_dsn},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{warehouse_dsn}\n"
    assert [name for name, secret in passwords(warehouse_dsn).items() if secret in result.stderr] == []


def test_the_local_warehouse_listens_on_loopback_only(warehouse_dsn: str) -> None:
    with psycopg.connect(warehouse_dsn) as conn:
        settings: dict[str, str] = dict(
            conn.execute(
                "select name, setting from pg_settings where name in ('listen_addresses', 'unix_socket_directories')"
            ).fetchall()
        )
    assert settings == {"listen_addresses": "127.0.0.1", "unix_socket_directories": ""}
    addresses = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    assert addresses, "the machine has no address but loopback: nothing to connect to from outside"
    assert urlsplit(warehouse_dsn).hostname == "127.0.0.1"
    for address in addresses:  # libpq connects itself (the tests' socket guard does not see it): this machine only
        outside = warehouse_dsn.replace("@127.0.0.1:", f"@[{address}]:" if ":" in address else f"@{address}:")
        with pytest.raises(psycopg.OperationalError, match="(?i)refused|unreachable"):
            psycopg.connect(outside, connect_timeout=3).close()
    with psycopg.connect(warehouse_dsn) as conn:  # the same login works on loopback
        assert conn.execute("select 1").fetchone() == (1,)
