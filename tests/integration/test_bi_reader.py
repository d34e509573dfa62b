"""A BI tool's login: `observatory dsn --reader` and the real `psql` client as `bi_reader`.

On the local cluster the reader's password is generated once (mode 0600) and login enabled by `observatory up`;
with an external warehouse (here a test database of the local cluster named by OBSERVATORY_WAREHOUSE_DSN) the
password comes from OBSERVATORY_BI_READER_PASSWORD. The test sets that variable to the local cluster's reader
password: roles are shared by the cluster's databases, and another password would lock out other readers."""

from __future__ import annotations

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

from observatory import pipeline
from observatory.config.settings import Settings
from observatory.warehouse import connection
from observatory_dev.docs_site import dbt_command

pytestmark = pytest.mark.integration

PSQL = "/usr/bin/psql"
OBSERVATORY = str(Path(sys.executable).parent / "observatory")
DAY = datetime(2026, 4, 1, tzinfo=UTC)
MART = "marts.mart_integration_scoreboard"


def observatory(*args: str, **env: str) -> subprocess.CompletedProcess:
    """The `observatory` command with the test's environment plus ``env`` (an empty value removes a variable)."""
    environment = {**os.environ, **env}
    environment = {name: value for name, value in environment.items() if value}
    return subprocess.run([OBSERVATORY, *args], env=environment, capture_output=True, text=True, timeout=120)


def psql(dsn: str, statement: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PSQL, dsn, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", statement], capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def local_reader_password() -> str:
    """`observatory up` on the local cluster, twice: the password file is written once."""
    first = observatory("up", OBSERVATORY_WAREHOUSE_DSN="")
    assert first.returncode == 0, first.stderr
    password = connection.bi_password_file().read_text()
    assert observatory("up", OBSERVATORY_WAREHOUSE_DSN="").returncode == 0
    assert connection.bi_password_file().read_text() == password
    return password


@pytest.fixture(scope="module")
def reader_dsn(
    warehouse_dsn: str, local_reader_password: str, sample_base_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The test database with the scoreboard built from the lfsa_ergan sample, and `observatory dsn --reader`."""
    work = tmp_path_factory.mktemp("bi_reader")
    settings = Settings.from_env().replace(landing_dir=work / "landing")
    assert pipeline.run_source("eurostat_lfsa_ergan", DAY, settings) > 0
    selected = ["--select", f"+{MART.split('.')[1]}", "--resource-type", "model", "--resource-type", "seed"]
    dbt_command(["build", *selected, "--target-path", str(work / "target")], warehouse_dsn)
    os.environ[connection.BI_PASSWORD_ENV] = local_reader_password
    printed = observatory("dsn", "--reader")
    assert printed.returncode == 0, printed.stderr
    yield printed.stdout.strip()
    os.environ.pop(connection.BI_PASSWORD_ENV, None)


def test_the_local_reader_password_file_is_private_and_logs_in(local_reader_password: str) -> None:
    mode = stat.S_IMODE(connection.bi_password_file().stat().st_mode)
    assert mode == 0o600
    printed = observatory("dsn", "--reader", OBSERVATORY_WAREHOUSE_DSN="", OBSERVATORY_BI_READER_PASSWORD="")
    assert printed.returncode == 0, printed.stderr
    parts = urlsplit(printed.stdout.strip())
    assert (parts.username, parts.hostname, parts.port, parts.path) == (
        "bi_reader",
        "127.0.0.1",
        connection.local_port(),
        "/observatory",
    )
    assert unquote(parts.password or "") == local_reader_password
    assert psql(printed.stdout.strip(), "select current_user").stdout.strip() == "bi_reader"


def test_the_reader_dsn_of_an_external_warehouse(reader_dsn: str, warehouse_dsn: str) -> None:
    parts, warehouse = urlsplit(reader_dsn), urlsplit(warehouse_dsn)
    assert (parts.username, parts.hostname, parts.port, parts.path) == (
        "bi_reader",
        warehouse.hostname,
        warehouse.port,
        warehouse.path,
    )
    missing = observatory("dsn", "--reader", OBSERVATORY_BI_READER_PASSWORD="")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip().splitlines() == [
        "observatory dsn: WarehouseError: set OBSERVATORY_BI_READER_PASSWORD to the bi_reader password of the "
        "external warehouse"
    ]


def test_psql_reads_a_mart_as_the_reader(reader_dsn: str) -> None:
    result = psql(reader_dsn, f"select current_user, count(*) from {MART}")
    assert result.returncode == 0, result.stderr
    user, count = result.stdout.strip().split("|")
    assert user == "bi_reader" and int(count) > 0


@pytest.mark.parametrize(
    "statement",
    [
        "select count(*) from raw.eurostat_observation",
        "select count(*) from audit.batch",
        f"insert into {MART} (geo_code) values ('XX')",
        f"delete from {MART}",
        "create table marts.bi_copy (city text)",
        "create table public.bi_copy (city text)",
        "create temporary table bi_copy (city text)",
    ],
)
def test_psql_as_the_reader_cannot_read_raw_write_or_create(reader_dsn: str, statement: str) -> None:
    result = psql(reader_dsn, statement)
    assert result.returncode != 0 and "permission denied" in result.stderr, result.stderr


def test_the_reader_runs_within_its_limits(reader_dsn: str, warehouse_dsn: str) -> None:
    """The connection limit is the role's; the statement timeout the role's in this database: set to 1 s by
    `observatory up` with OBSERVATORY_BI_READER_STATEMENT_TIMEOUT, a 3 s query is cancelled."""
    settings = Settings.from_env()
    with psycopg.connect(warehouse_dsn) as conn:
        [(limit,)] = conn.execute("select rolconnlimit from pg_roles where rolname = 'bi_reader'").fetchall()
        [(configured,)] = conn.execute(
            "select set_config('statement_timeout', %s, true)", (settings.bi_statement_timeout,)
        ).fetchall()
    assert limit == settings.bi_connection_limit
    assert psql(reader_dsn, "show statement_timeout").stdout.strip() == configured
    up = observatory("up", OBSERVATORY_BI_READER_STATEMENT_TIMEOUT="1s")
    assert up.returncode == 0, up.stderr
    assert psql(reader_dsn, "show statement_timeout").stdout.strip() == "1s"
    slow = psql(reader_dsn, "select pg_sleep(3)")
    assert slow.returncode != 0 and "canceling statement due to statement timeout" in slow.stderr
    assert observatory("up").returncode == 0
    assert psql(reader_dsn, "show statement_timeout").stdout.strip() == configured


def test_no_connection_string_reaches_a_log(reader_dsn: str, local_reader_password: str) -> None:
    """Neither password of the printed DSNs is in the server's log, dbt's log or any log under .local, after
    logins, a refused login and the commands above."""
    owner_dsn = observatory("dsn").stdout.strip()
    assert psql(reader_dsn.replace("bi_reader:", "bi_reader:x", 1), "select 1").returncode != 0  # a wrong password
    secrets = {unquote(urlsplit(dsn).password or "") for dsn in (owner_dsn, reader_dsn)} | {local_reader_password}
    assert all(len(secret) >= 16 for secret in secrets)
    settings = Settings.from_env()
    logs = [
        connection.cluster_dir() / "data" / "server.log",
        *settings.local_dir.rglob("*.log"),
        *(settings.dbt_project_dir / "logs").glob("*.log"),
    ]
    found = [str(path) for path in logs if path.is_file() and any(s.encode() in path.read_bytes() for s in secrets)]
    assert found == []
