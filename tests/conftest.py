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
    """The bundled sample data over HTTP on 127.0.0.1, as OBSERVATORY_SAMPLE_BASE_URL, and the mirror of the live
    entries' publishers (sample_data/mirror/index.yml) as OBSERVATORY_MIRROR_URL."""
    from observatory_dev.sample_server import serve_directory

    server, base_url = serve_directory()
    os.environ["OBSERVATORY_SAMPLE_BASE_URL"] = base_url
    os.environ["OBSERVATORY_MIRROR_URL"] = base_url
    yield base_url
    server.shutdown()


@pytest.fixture()
def landing_dir(tmp_path, monkeypatch) -> Path:
    """An empty landing zone for one test, as OBSERVATORY_LANDING_DIR (every step reads its settings from the
    environment when it runs: ``Settings.from_env()``)."""
    path = tmp_path / "landing"
    monkeypatch.setenv("OBSERVATORY_LANDING_DIR", str(path))
    return path


# Copies of two Eurostat TSV entries collected from the sample file over plain HTTP (collector http, which is not
# incremental), for tests that parse the same bytes twice with a patched parser: the live entries' collector would
# skip the second batch as unchanged, as it should.
PLAIN_HTTP_ENTRIES = {
    "http_lfsa_ergan": ("eurostat_lfsa_ergan", "estat_lfsa_ergan_filtered.tsv"),
    "http_lfsa_urgan": ("eurostat_lfsa_urgan", "estat_lfsa_urgan_filtered.tsv"),
}


@pytest.fixture()
def plain_http_registry(tmp_path, monkeypatch) -> Path:
    """The project's registry plus PLAIN_HTTP_ENTRIES, as OBSERVATORY_REGISTRY."""
    import yaml

    from observatory.config.settings import Settings

    document = yaml.safe_load(Settings.from_env().registry_path.read_text(encoding="utf-8"))
    for source_id, (original, file_name) in PLAIN_HTTP_ENTRIES.items():
        entry = {key: value for key, value in document["sources"][original].items() if key not in ("collect",)}
        entry.update(collector="http", urls=[f"${{OBSERVATORY_SAMPLE_BASE_URL}}/eurostat/{file_name}"])
        document["sources"][source_id] = entry
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("OBSERVATORY_REGISTRY", str(path))
    return path
