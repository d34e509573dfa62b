"""Shared fixtures: a real PostgreSQL database for the tests, and the sample data served from localhost."""

from __future__ import annotations

import ipaddress
import itertools
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
_database_numbers = itertools.count()
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _only_this_machine(address: object) -> None:
    """Refuse, before any packet leaves, a connection to anything but this machine (a Unix socket or loopback)."""
    if not isinstance(address, tuple):
        return  # a Unix socket path
    host = str(address[0])
    try:
        local = ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        local = host == "localhost"
    if not local:
        raise OSError(f"tests reach only this machine; refused a connection to {host}:{address[1]}")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _only_this_machine(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _only_this_machine(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def no_internet() -> Iterator[None]:
    """Tests never reach the internet: HTTP sources are served from localhost. A socket connection from the test
    process to any other address fails at once with a message naming it (processes the tests start, such as
    Airflow or dbt, are pointed at localhost by their environment)."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect, socket.socket.connect_ex = _real_connect, _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def warehouse_dsn() -> Iterator[str]:
    """A fresh database of its own in the project's local cluster, exported as OBSERVATORY_WAREHOUSE_DSN for
    the code under test; dropped afterwards. One per test module, so no module sees another's rows."""
    from observatory.warehouse import connection
    from observatory.warehouse.bootstrap import ensure_warehouse_schema

    database = f"observatory_test_{os.getpid()}_{next(_database_numbers)}"
    connection.start_local()
    connection.ensure_database(database, recreate=True)
    conninfo = connection.local_dsn(database)
    previous = os.environ.get(connection.DSN_ENV)
    os.environ[connection.DSN_ENV] = conninfo
    with connection.connect() as conn:
        ensure_warehouse_schema(conn)
    yield conninfo
    if previous is None:
        os.environ.pop(connection.DSN_ENV, None)
    else:
        os.environ[connection.DSN_ENV] = previous
    connection.drop_database(database)


@pytest.fixture(scope="session")
def sample_base_url() -> Iterator[str]:
    """The bundled sample data over HTTP on 127.0.0.1, as OBSERVATORY_SAMPLE_BASE_URL."""
    from observatory_dev.sample_server import serve_directory

    server, base_url = serve_directory()
    os.environ["OBSERVATORY_SAMPLE_BASE_URL"] = base_url
    yield base_url
    server.shutdown()


@pytest.fixture()
def landing_dir(tmp_path, monkeypatch) -> Path:
    """An empty landing zone for one test, as OBSERVATORY_LANDING_DIR (every step reads its settings from the
    environment when it runs: ``Settings.from_env()``)."""
    path = tmp_path / "landing"
    monkeypatch.setenv("OBSERVATORY_LANDING_DIR", str(path))
    return path
