"""Shared fixtures: a real PostgreSQL database for the tests, and the sample data served from localhost."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
_database_numbers = itertools.count()


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
