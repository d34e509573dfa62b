"""Eurostat's asynchronous delivery, against localhost servers that answer as the API does: the SDMX queued key
played by the sample server's mirror (queued → status polls → data; expired key; wait running out), and the
Statistics API's 413 warning answered by a test server."""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from observatory.collect.eurostat import fetch_dataset
from observatory.collect.eurostat_urls import Query, query
from observatory.collect.http import FetchError, http_session
from observatory.parse import eurostat_tsv
from observatory_dev.sample_server import FAULT_ENVELOPE, QUEUED_ENVELOPE, serve_directory

PROJECT = Path(__file__).resolve().parents[2]
ERGAN = (PROJECT / "sample_data/eurostat/estat_lfsa_ergan_filtered.tsv").read_bytes()
POP1CTZ = (PROJECT / "sample_data/eurostat/eurostat_migr_pop1ctz_FR_by_citizen_jsonstat2.json").read_bytes()
WARNING = (PROJECT / "tests/fixtures/eurostat_api/statistics_warning_413.json").read_bytes()
KEY = "0f164c29-0e96-4757-9b81-e9fcff8b9899"
WHERE = "source 'estat_ergan', field 'collect'"
OPTIONS = {"api": "sdmx", "dataset": "lfsa_ergan", "key": "A.PC.F+M+T.Y20-64..", "since": "2015", "poll_interval": 0.01}


@pytest.fixture()
def play(tmp_path, monkeypatch) -> Iterator[Callable[[Query, list[str]], None]]:
    """Start a mirror-mode sample server that plays the live URL of a query as an asynchronous delivery of the real
    lfsa_ergan TSV with the given status answers, set as OBSERVATORY_MIRROR_URL."""
    servers = []

    def start(request: Query, statuses: list[str]) -> None:
        (tmp_path / "mirror").mkdir()
        (tmp_path / "ergan.tsv").write_bytes(ERGAN)
        entry = {"url": request.url, "file": "ergan.tsv", "content_type": "text/tab-separated-values"}
        entry["async"] = {"key": KEY, "statuses": statuses}
        (tmp_path / "mirror" / "index.yml").write_text(yaml.safe_dump([entry]), encoding="utf-8")
        server, base_url = serve_directory(tmp_path)
        servers.append(server)
        monkeypatch.setenv("OBSERVATORY_MIRROR_URL", base_url)

    yield start
    for server in servers:
        server.shutdown()


def test_a_queued_extraction_is_polled_until_available_then_its_data_is_fetched(play) -> None:
    request = query(OPTIONS, where=WHERE)
    play(request, ["SUBMITTED", "PROCESSING", "AVAILABLE"])
    with http_session() as session:
        fetched = fetch_dataset(session, request, None)
    assert gzip.decompress(fetched.payload) == ERGAN and fetched.http_status == 200  # compressed=true: gzip
    assert fetched.resource == request.url and fetched.resource_name == "A.PC.F+M+T.Y20-64.."
    assert fetched.media_type == "text/tab-separated-values"
    assert (
        sum(1 for row in eurostat_tsv.parse(fetched.payload, {"dataset_code": "lfsa_ergan"}) if isinstance(row, tuple))
        > 0
    )


def test_an_expired_key_is_one_clear_failure(play) -> None:
    request = query(OPTIONS, where=WHERE)
    play(request, ["PROCESSING", "EXPIRED"])
    with http_session() as session, pytest.raises(FetchError, match=f"asynchronous result {KEY} EXPIRED"):
        fetch_dataset(session, request, None)


def test_a_wait_that_runs_out_is_one_clear_failure_after_max_wait(play) -> None:
    request = query({**OPTIONS, "max_wait": 0.3}, where=WHERE)
    play(request, ["SUBMITTED", "PROCESSING"])
    started = time.monotonic()
    with http_session() as session, pytest.raises(FetchError, match=r"was not ready within max_wait 0\.3 s"):
        fetch_dataset(session, request, None)
    assert 0.3 <= time.monotonic() - started < 5


def test_an_unknown_key_fails_with_eurostats_message(httpserver) -> None:
    request = query({**OPTIONS, "base_url": httpserver.url_for("/")}, where=WHERE)
    httpserver.expect_request("/sdmx/2.1/data/lfsa_ergan/A.PC.F+M+T.Y20-64..").respond_with_data(
        QUEUED_ENVELOPE.format(key=KEY), content_type="application/xml"
    )
    unknown = FAULT_ENVELOPE.format(message="UNKNOWN_REQUEST: Unknown request.")
    httpserver.expect_request(f"/1.0/async/status/{KEY}").respond_with_data(unknown, status=400)
    pattern = re.escape(
        f"/1.0/async/status/{KEY}: HTTP 400 BAD REQUEST: UNKNOWN_REQUEST: Unknown request. (Eurostat fault 100)"
    )
    with http_session() as session, pytest.raises(FetchError, match=pattern):
        fetch_dataset(session, request, None)


def test_the_statistics_api_warning_413_is_answered_by_repeating_the_request(httpserver) -> None:
    path = "/statistics/1.0/data/migr_pop1ctz"
    httpserver.expect_oneshot_request(path).respond_with_data(WARNING, content_type="application/json")
    httpserver.expect_oneshot_request(path).respond_with_data(WARNING, content_type="application/json")
    httpserver.expect_request(path).respond_with_data(POP1CTZ, content_type="application/json")
    request = query(
        {"dataset": "migr_pop1ctz", "base_url": httpserver.url_for("/"), "poll_interval": 0.01}, where=WHERE
    )
    with http_session() as session:
        fetched = fetch_dataset(session, request, None)
    assert fetched.payload == POP1CTZ and len(httpserver.log) == 3


def test_a_statistics_api_warning_that_does_not_clear_is_one_clear_failure(httpserver) -> None:
    httpserver.expect_request("/statistics/1.0/data/migr_pop1ctz").respond_with_data(WARNING)
    options = {"dataset": "migr_pop1ctz", "base_url": httpserver.url_for("/"), "poll_interval": 0.01, "max_wait": 0.2}
    with http_session() as session, pytest.raises(FetchError, match="Statistics API warning 413.*max_wait 0.2 s"):
        fetch_dataset(session, query(options, where=WHERE), None)
    assert len(httpserver.log) >= 2
