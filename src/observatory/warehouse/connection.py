"""Where the warehouse is: an external PostgreSQL named by ``OBSERVATORY_WAREHOUSE_DSN``, or else a
project-local cluster under ``.local/postgres`` run from the binaries that the ``pgserver`` package ships.

The local cluster listens on 127.0.0.1 only (port ``OBSERVATORY_PG_PORT``, default 54329) with a generated
password kept in ``.local/postgres/password``, so BI tools and ``psql`` connect over plain TCP. The read-only
``bi_reader`` login has its own generated password in ``.local/postgres/bi_reader_password`` (both files mode 0600);
an external warehouse's ``bi_reader`` password comes from ``OBSERVATORY_BI_READER_PASSWORD``. PostgreSQL
refuses to run as root; when we are root the server runs as the unprivileged OS user ``pgserver``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from observatory.config.settings import Settings

if TYPE_CHECKING:
    import psycopg

DSN_ENV = "OBSERVATORY_WAREHOUSE_DSN"
BI_ROLE = "bi_reader"
BI_PASSWORD_ENV = "OBSERVATORY_BI_READER_PASSWORD"
LOCAL_DATABASE = "observatory"
SUPERUSER = "postgres"
SERVER_OS_USER = "pgserver"


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or started."""


def cluster_dir() -> Path:
    return Settings.from_env().local_dir / "postgres"


def local_port() -> int:
    return int(os.environ.get("OBSERVATORY_PG_PORT", "54329"))


def local_dsn(database: str = LOCAL_DATABASE) -> str:
    password = (cluster_dir() / "password").read_text().strip()
    return f"postgresql://{SUPERUSER}:{quote(password, safe='')}@127.0.0.1:{local_port()}/{database}"


def dsn() -> str:
    """The connection string of the warehouse in use (external DSN wins over the local cluster)."""
    external = os.environ.get(DSN_ENV)
    if external:
        return external
    if not (cluster_dir() / "password").exists():
        raise WarehouseError("no local warehouse yet: run `observatory up` (or set OBSERVATORY_WAREHOUSE_DSN)")
    return local_dsn()


def bi_password_file() -> Path:
    return cluster_dir() / "bi_reader_password"


def secret_files() -> tuple[Path, ...]:
    """Every file the local cluster keeps a password in (mode 0600): the owner's and ``bi_reader``'s."""
    return (cluster_dir() / "password", bi_password_file())


def reader_dsn() -> str:
    """The ``bi_reader`` connection string of the warehouse in use: the external DSN's server and database with
    ``$OBSERVATORY_BI_READER_PASSWORD``, or the local cluster with the password generated at ``observatory up``."""
    external = os.environ.get(DSN_ENV)
    if external:
        password = os.environ.get(BI_PASSWORD_ENV)
        if not password:
            raise WarehouseError(f"set {BI_PASSWORD_ENV} to the {BI_ROLE} password of the external warehouse")
        parts = urlsplit(external)
        host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname or ""
        netloc = f"{BI_ROLE}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    if not bi_password_file().exists():
        raise WarehouseError("no bi_reader login yet: run `observatory up` (or set OBSERVATORY_WAREHOUSE_DSN)")
    password = bi_password_file().read_text().strip()
    return f"postgresql://{BI_ROLE}:{quote(password, safe='')}@127.0.0.1:{local_port()}/{LOCAL_DATABASE}"


def connect(autocommit: bool = False):
    """A psycopg 3 connection to the warehouse."""
    import psycopg

    return psycopg.connect(dsn(), autocommit=autocommit)


def dsn_parts(conninfo: str | None = None) -> dict[str, str]:
    """Host, port, user, password and database of a DSN (for dbt's profile, which takes parts)."""
    parts = urlsplit(conninfo or dsn())
    return {
        "host": parts.hostname or "localhost",
        "port": str(parts.port or 5432),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "dbname": parts.path.lstrip("/") or "postgres",
    }


# --- the local cluster -------------------------------------------------------------------------------


def _pgserver_bin_dir() -> Path:
    """Where the ``pgserver`` package keeps its PostgreSQL binaries."""
    with warnings.catch_warnings():  # pgserver's import warns about XDG_RUNTIME_DIR, which we do not use
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _pg_bin(name: str) -> str:
    return str(_pgserver_bin_dir() / name)


def _run_as_server_user(args: list[str], timeout: int = 60) -> subprocess.CompletedProcess:
    kwargs: dict = {}
    if os.geteuid() == 0:
        kwargs["user"] = SERVER_OS_USER
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise WarehouseError(f"{Path(args[0]).name} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result


def _prepare_root_permissions(data_dir: Path) -> None:
    """As root: make sure the server's OS user exists and can reach the binaries and the data folder."""
    import pwd
    import stat

    bin_dir = _pgserver_bin_dir()
    from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(SERVER_OS_USER)
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(bin_dir)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bin_dir, read | execute)
    ensure_folder_permissions(bin_dir.parent / "lib", read)
    entry = pwd.getpwnam(SERVER_OS_USER)
    for path in [data_dir, *data_dir.rglob("*")]:
        try:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        except FileNotFoundError:  # a running cluster deletes its temporary files while we walk
            continue


def write_new_secret(path: Path) -> None:
    """Generate a password into ``path`` (created with mode 0600, never readable by others) unless it exists."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(24))


def _init_cluster(base: Path) -> None:
    data_dir = base / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    password_file = base / "password"
    write_new_secret(password_file)
    pwfile = data_dir.parent / ".initdb_pwfile"
    pwfile.unlink(missing_ok=True)  # left by an initdb that was killed
    with os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(password_file.read_text())
    try:
        if os.geteuid() == 0:
            _prepare_root_permissions(data_dir)
            import pwd

            entry = pwd.getpwnam(SERVER_OS_USER)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        _run_as_server_user(
            [
                _pg_bin("initdb"),
                "-D",
                str(data_dir),
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--no-locale",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
            ],
            timeout=120,
        )
    finally:
        pwfile.unlink(missing_ok=True)


def is_local_running() -> bool:
    data_dir = cluster_dir() / "data"
    if not (data_dir / "PG_VERSION").exists():
        return False
    result = subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(data_dir), "status"],
        capture_output=True,
        text=True,
        user=SERVER_OS_USER if os.geteuid() == 0 else None,
    )
    return result.returncode == 0


def start_local() -> str:
    """Initialise (once) and start the local cluster; create the ``observatory`` database. Returns its DSN."""
    base = cluster_dir()
    data_dir = base / "data"
    if not (data_dir / "PG_VERSION").exists():
        _init_cluster(base)
    elif os.geteuid() == 0:
        _prepare_root_permissions(data_dir)
    if not is_local_running():
        _run_as_server_user(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(data_dir),
                "-l",
                str(data_dir / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                f"-h 127.0.0.1 -p {local_port()} -k ''",
                "start",
            ],
            timeout=90,
        )
    ensure_database(LOCAL_DATABASE)
    return local_dsn()


def stop_local() -> bool:
    """Stop the local cluster if it runs. Returns whether it was running."""
    if not is_local_running():
        return False
    _run_as_server_user([_pg_bin("pg_ctl"), "-D", str(cluster_dir() / "data"), "-m", "fast", "-w", "stop"])
    return True


def ensure_database(name: str, *, recreate: bool = False) -> None:
    """Create database ``name`` in the local cluster (dropping it first when ``recreate``)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(local_dsn("postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if exists and recreate:
            conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    """Drop database ``name`` from the local cluster if it exists."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(local_dsn("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def dbt_env(conninfo: str) -> dict[str, str]:
    """The variables dbt's profile reads (dbt_project/profiles.yml)."""
    parts = dsn_parts(conninfo)
    return {
        "OBSERVATORY_DB_HOST": parts["host"],
        "OBSERVATORY_DB_PORT": parts["port"],
        "OBSERVATORY_DB_USER": parts["user"],
        "OBSERVATORY_DB_PASSWORD": parts["password"],
        "OBSERVATORY_DB_NAME": parts["dbname"],
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(Settings.from_env().dbt_project_dir),
    }


def one_row(cursor: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    """The one row a query must return (an aggregate, a lock, a lookup by key); none is an error."""
    row = cursor.fetchone()
    if row is None:
        raise LookupError("the query returned no row")
    return row
