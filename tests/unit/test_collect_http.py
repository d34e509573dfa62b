"""observatory.collect.http against a scripted pytest-httpserver on localhost: retries, Retry-After, timeouts,
the size cap, truncation, compression, and the names and media types it reports."""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from observatory.collect.http import FetchError, fetch_url, http_session, media_type, resource_name
from observatory_dev.faults.server import Reply, serve

BODY = b"freq,unit,geo\\TIME_PERIOD\t2023 \nA,PC,AT\t70.4 b\n" * 20


@pytest.fixture()
def server() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)  # a slow or cut-off answer must not hold the retry
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture(autouse=True)
def fast_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "OBSERVATORY_HTTP_RETRIES": "3",
        "OBSERVATORY_HTTP_BACKOFF": "0.01",
        "OBSERVATORY_CONNECT_TIMEOUT": "1",
        "OBSERVATORY_READ_TIMEOUT": "0.5",
        "OBSERVATORY_RETRY_AFTER_MAX": "5",
    }.items():
        monkeypatch.setenv(name, value)


def fetch(server: HTTPServer, path: str = "/data/file.tsv"):
    with http_session() as session:
        return fetch_url(session, server.url_for(path))


def test_server_errors_are_retried_until_the_body_arrives(server: HTTPServer) -> None:
    resource = serve(
        server,
        "/data/file.tsv",
        [Reply(b"x", status=500), Reply(b"x", status=502), Reply(b"x", status=503), Reply(BODY)],
    )
    fetched = fetch(server)
    assert fetched.payload == BODY and fetched.http_status == 200
    assert len(resource.request_times) == 4


def test_client_errors_are_not_retried(server: HTTPServer) -> None:
    resource = serve(server, "/data/file.tsv", [Reply(b"gone", status=404)])
    with pytest.raises(FetchError, match=r"/data/file\.tsv: HTTP 404"):
        fetch(server)
    assert len(resource.request_times) == 1


def test_a_server_that_stays_down_fails_after_the_configured_retries(server: HTTPServer) -> None:
    resource = serve(server, "/data/file.tsv", [Reply(b"down", status=503)])
    with pytest.raises(FetchError, match="HTTP 503"):
        fetch(server)
    assert len(resource.request_times) == 1 + 3


def test_retry_after_is_honoured(server: HTTPServer) -> None:
    resource = serve(server, "/data/file.tsv", [Reply(b"", status=429, headers={"Retry-After": "1"}), Reply(BODY)])
    assert fetch(server).payload == BODY
    first, second = resource.request_times
    assert second - first >= 1.0


def test_retry_after_is_capped(server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server asking for an hour's pause does not get to hold the worker for an hour."""
    monkeypatch.setenv("OBSERVATORY_RETRY_AFTER_MAX", "1")
    resource = serve(server, "/data/file.tsv", [Reply(b"", status=503, headers={"Retry-After": "3600"}), Reply(BODY)])
    started = time.monotonic()
    assert fetch(server).payload == BODY
    assert len(resource.request_times) == 2 and time.monotonic() - started < 5


def test_a_reset_connection_is_retried(server: HTTPServer) -> None:
    resource = serve(server, "/data/file.tsv", [Reply(reset=True), Reply(reset=True), Reply(BODY)])
    assert fetch(server).payload == BODY
    assert len(resource.request_times) == 3


def test_a_read_timeout_is_retried(server: HTTPServer) -> None:
    resource = serve(server, "/data/file.tsv", [Reply(BODY, delay=1.2), Reply(BODY)])
    assert fetch(server).payload == BODY
    assert len(resource.request_times) == 2


def test_a_server_that_never_answers_fails_with_a_timeout(server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSERVATORY_HTTP_RETRIES", "1")
    serve(server, "/data/file.tsv", [Reply(BODY, delay=1.0)])
    started = time.monotonic()
    with pytest.raises(FetchError, match="(?i)read timed out"):
        fetch(server)
    assert time.monotonic() - started < 4


def test_a_closed_port_fails_fast_with_a_connection_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSERVATORY_HTTP_RETRIES", "0")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with http_session() as session, pytest.raises(FetchError, match="ConnectionError"):
        fetch_url(session, f"http://127.0.0.1:{port}/nothing.tsv")


def test_a_truncated_body_is_fetched_again(server: HTTPServer) -> None:
    resource = serve(server, "/data/file.tsv", [Reply(BODY, cut_at=100), Reply(BODY)])
    assert fetch(server).payload == BODY
    assert len(resource.request_times) == 2


def test_a_body_that_is_always_truncated_is_rejected(server: HTTPServer) -> None:
    serve(server, "/data/file.tsv", [Reply(BODY, cut_at=len(BODY) - 1)])
    with pytest.raises(FetchError, match=rf"after {len(BODY) - 1} bytes.*after 4 attempts"):
        fetch(server)


def test_a_declared_size_over_the_cap_is_refused_before_reading(
    server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", "100")
    serve(server, "/data/file.tsv", [Reply(BODY)])
    with pytest.raises(FetchError, match=rf"Content-Length {len(BODY)} is over the cap of 100 bytes"):
        fetch(server)


def test_a_streamed_body_is_cut_off_at_the_cap(server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a Content-Length (chunked transfer) the cap is checked as the bytes arrive."""
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", "100")
    server.expect_request("/data/file.tsv").respond_with_handler(
        lambda request: Response(iter([BODY[:80], BODY[80:160], BODY[160:]]))
    )
    with pytest.raises(FetchError, match="body is over the cap of 100 bytes"):
        fetch(server)


def test_the_cap_counts_decompressed_bytes(server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small gzip body that inflates past the cap (a compression bomb) is refused."""
    bomb = gzip.compress(b"0" * 5_000_000)
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", "1000000")
    serve(server, "/data/file.tsv", [Reply(bomb, headers={"Content-Encoding": "gzip"})])
    assert len(bomb) < 1_000_000
    with pytest.raises(FetchError, match="body is over the cap of 1000000 bytes"):
        fetch(server)


def test_a_compressed_body_is_decoded_and_not_taken_for_truncated(server: HTTPServer) -> None:
    serve(server, "/data/file.tsv", [Reply(gzip.compress(BODY), headers={"Content-Encoding": "gzip"})])
    assert fetch(server).payload == BODY


def test_a_dripping_body_is_cut_off_at_the_deadline(server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each byte comes well within the read timeout, but the whole body would take far too long."""
    monkeypatch.setenv("OBSERVATORY_DOWNLOAD_DEADLINE", "0.5")
    serve(server, "/data/file.tsv", [Reply(BODY, drip=0.05)])
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"not complete within 0\.5 s"):
        fetch(server)
    assert time.monotonic() - started < 3


def test_fetched_records_what_the_server_said(server: HTTPServer) -> None:
    headers = {
        "Content-Type": "Text/Tab-Separated-Values; charset=utf-8",
        "ETag": '"v1"',
        "Last-Modified": "Mon, 02 Mar 2026 10:00:00 GMT",
    }
    serve(server, "/data/file.tsv", [Reply(BODY, headers=headers)])
    fetched = fetch(server)
    assert (fetched.resource, fetched.resource_name) == (server.url_for("/data/file.tsv"), "file.tsv")
    assert (fetched.media_type, fetched.etag, fetched.last_modified) == (
        "text/tab-separated-values",
        '"v1"',
        "Mon, 02 Mar 2026 10:00:00 GMT",
    )


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json; charset=utf-8", "application/json"),
        ("application/octet-stream", None),
        ("binary/octet-stream", None),
        ("", None),
        (None, None),
    ],
)
def test_media_type_drops_parameters_and_generic_labels(content_type: str | None, expected: str | None) -> None:
    assert media_type(content_type) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1/eurostat/estat_lfsa_ergan.tsv?lang=en", "estat_lfsa_ergan.tsv"),
        ("http://127.0.0.1/reports/Bericht%202024.pdf", "Bericht 2024.pdf"),
        ("http://127.0.0.1/x/..%2F..%2Fetc%2Fpasswd", "passwd"),
        ("http://127.0.0.1/x/..%5C..%5Cboot.ini", "boot.ini"),
        ("http://127.0.0.1/", ""),
    ],
)
def test_resource_name_is_the_last_segment_without_separators(url: str, expected: str) -> None:
    assert resource_name(url) == expected
