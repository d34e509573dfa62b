"""The suite's guard (tests/conftest.py): a test that tries to reach another machine fails at once, naming the
address; localhost still works."""

from __future__ import annotations

import socket

import pytest
import requests
from pytest_httpserver import HTTPServer


def test_a_connection_to_another_machine_is_refused_before_it_leaves() -> None:
    # 203.0.113.0/24 is reserved for documentation (RFC 5737): the guard raises before connect is called
    with pytest.raises(OSError, match=r"tests reach only this machine; refused a connection to 203\.0\.113\.7:80"):
        socket.create_connection(("203.0.113.7", 80), timeout=1)
    with socket.socket() as sock:
        with pytest.raises(OSError, match="203.0.113.7"):
            sock.connect_ex(("203.0.113.7", 443))


def test_localhost_is_reached(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ping").respond_with_data("pong")
    assert requests.get(httpserver.url_for("/ping"), timeout=5).text == "pong"
