"""Downloads stream to the landing zone: the body is written to a file of the zone's partial directory as it arrives
(hashed on the way, the cap and deadline applied), moved into its content path whole, and never held in memory; a
failed or killed download leaves nothing at a content path."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from observatory.collect import Fetched
from observatory.collect.files import read_file
from observatory.collect.http import FetchError, fetch_url, http_session
from observatory.collect.spool import spooling_into
from observatory.landing import PARTIAL_DIR, LandingZone
from observatory_dev.faults.server import Reply, serve

CHUNK = b"A,PC,AT\t70.4 b\t: u\t61.0 \n" * 2600  # ~64 KiB of TSV lines
BIG_CHUNKS = 800  # ~50 MiB


@pytest.fixture()
def server() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture(autouse=True)
def fast_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"OBSERVATORY_HTTP_RETRIES": "1", "OBSERVATORY_HTTP_BACKOFF": "0.01"}.items():
        monkeypatch.setenv(name, value)


def _big_body(server: HTTPServer, chunks: int = BIG_CHUNKS) -> tuple[str, str, int]:
    """Serve ``chunks`` copies of CHUNK (the server allocates nothing per chunk); (url, sha256, size)."""
    server.expect_request("/big.tsv").respond_with_handler(
        lambda request: Response((CHUNK for _ in range(chunks)), headers={"Content-Length": str(len(CHUNK) * chunks)})
    )
    digest = hashlib.sha256()
    for _ in range(chunks):
        digest.update(CHUNK)
    return server.url_for("/big.tsv"), digest.hexdigest(), len(CHUNK) * chunks


def _content_files(zone: LandingZone) -> list[Path]:
    return [p for p in zone.root.rglob("*") if p.is_file() and PARTIAL_DIR not in p.relative_to(zone.root).parts]


def test_a_large_download_lands_without_being_held_in_memory(server: HTTPServer, tmp_path: Path) -> None:
    url, digest, size = _big_body(server)
    zone = LandingZone(tmp_path / "landing")
    with http_session() as session, spooling_into(zone.partial_dir):
        tracemalloc.start()
        try:
            fetched = fetch_url(session, url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    print(f"fetch_url of a {size / 2**20:.1f} MiB body: tracemalloc peak {peak / 2**20:.2f} MiB")
    assert size > 50_000_000 and peak < size / 4  # the body is 50 MiB; the fetch never held it (about 0.3-10 MiB seen)
    assert (fetched.body.sha256, fetched.body.size) == (digest, size)
    assert fetched.body.path.parent == zone.partial_dir  # spooled inside the landing zone

    path = zone.store("big_source", fetched.body)
    assert path == zone.path("big_source", digest) and not (path.stat().st_mode & 0o222)  # read-only
    assert list(zone.partial_dir.iterdir()) == []  # moved into place, not copied
    assert fetched.body.path == path and fetched.payload[: len(CHUNK)] == CHUNK


def test_an_interrupted_download_leaves_no_file(server: HTTPServer, tmp_path: Path) -> None:
    body = CHUNK * 4
    serve(server, "/cut.tsv", [Reply(body, cut_at=len(body) // 2)])
    zone = LandingZone(tmp_path / "landing")
    with (
        http_session() as session,
        spooling_into(zone.partial_dir),
        pytest.raises(FetchError, match=f"after {len(body) // 2} bytes"),
    ):
        fetch_url(session, server.url_for("/cut.tsv"))
    assert list(zone.partial_dir.iterdir()) == [] and _content_files(zone) == []


def test_a_body_over_the_cap_is_cut_off_and_removed(
    server: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", str(len(CHUNK) * 3))
    server.expect_request("/endless.tsv").respond_with_handler(lambda request: Response(CHUNK for _ in range(1000)))
    zone = LandingZone(tmp_path / "landing")
    with http_session() as session, spooling_into(zone.partial_dir):
        with pytest.raises(FetchError, match=f"body is over the cap of {len(CHUNK) * 3} bytes"):
            fetch_url(session, server.url_for("/endless.tsv"))
    assert list(zone.partial_dir.iterdir()) == []


def test_a_body_dropped_without_landing_is_deleted(server: HTTPServer, tmp_path: Path) -> None:
    serve(server, "/small.tsv", [Reply(CHUNK)])
    with http_session() as session, spooling_into(tmp_path):
        fetched = fetch_url(session, server.url_for("/small.tsv"))
    spooled = fetched.body.path
    assert spooled.read_bytes() == CHUNK
    del fetched
    assert not spooled.exists()


def test_a_killed_download_leaves_only_a_partial_file(server: HTTPServer, tmp_path: Path) -> None:
    """A worker killed mid-download leaves a temporary file in the partial directory, never a file at a content
    path; the next fetch lands the content whole and ignores the leftover."""

    def slow(request: object) -> Response:
        def chunks() -> Iterator[bytes]:
            for _ in range(200):
                yield CHUNK
                time.sleep(0.05)

        return Response(chunks())

    server.expect_request("/slow.tsv").respond_with_handler(slow)
    zone = LandingZone(tmp_path / "landing")
    script = textwrap.dedent(f"""
        from pathlib import Path
        from observatory.collect.http import fetch_url, http_session
        from observatory.collect.spool import spooling_into
        with http_session() as session, spooling_into(Path({str(zone.partial_dir)!r})):
            fetch_url(session, {server.url_for("/slow.tsv")!r})
    """)
    worker = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "OBSERVATORY_HTTP_RETRIES": "0"})
    try:
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size > len(CHUNK) for p in zone.partial_dir.glob("*")):
            assert time.monotonic() < deadline and worker.poll() is None, "the download never started"
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    [leftover] = zone.partial_dir.iterdir()
    assert leftover.name.endswith(".partial") and _content_files(zone) == []

    serve(server, "/whole.tsv", [Reply(CHUNK)])
    with http_session() as session, spooling_into(zone.partial_dir):
        zone.store("slow_source", fetch_url(session, server.url_for("/whole.tsv")).body)
    assert _content_files(zone) == [zone.path("slow_source", hashlib.sha256(CHUNK).hexdigest())]


def test_a_local_file_is_copied_into_the_zone(tmp_path: Path) -> None:
    source = tmp_path / "data.tsv"
    source.write_bytes(CHUNK * 20)
    zone = LandingZone(tmp_path / "landing")
    with spooling_into(zone.partial_dir):
        fetched = read_file(source, tmp_path)
    assert (fetched.resource, fetched.body.size) == ("data.tsv", len(CHUNK) * 20)
    path = zone.store("files_source", fetched.body)
    assert path.read_bytes() == source.read_bytes() and source.exists()


def test_a_payload_held_in_memory_lands_too(tmp_path: Path) -> None:
    """A collector may build a Fetched from bytes (a page read back from the landing zone)."""
    fetched = Fetched("https://example.org/page", "page", b'{"x": 1}', "application/json", 200)
    zone = LandingZone(tmp_path / "landing")
    path = zone.store("paged_source", fetched.body)
    assert path == zone.path("paged_source", hashlib.sha256(b'{"x": 1}').hexdigest())
    assert path.read_bytes() == fetched.payload == b'{"x": 1}'
    assert zone.store("paged_source", fetched.body) == path  # landed once
    with pytest.raises(TypeError):
        Fetched("r", "r")
