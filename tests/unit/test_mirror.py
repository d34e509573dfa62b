"""The mirror: the HTTP layer's rewrite of live URLs (OBSERVATORY_MIRROR_URL), and the sample server answering
them from sample_data/mirror/index.yml (host + path + query as a multiset; a 404 naming what was asked)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from observatory.collect.http import FetchError, fetch_url, http_session, mirrored
from observatory.config.settings import Settings
from observatory_dev.sample_server import Mirror, serve_directory

PROJECT = Path(__file__).resolve().parents[2]
SAMPLES = PROJECT / "sample_data"
POP1CTZ_URL = (
    "https://ec.europa.eu/eurostat/api/dissemination/statistics/1.0/data/migr_pop1ctz"
    "?format=JSON&lang=EN&geo=FR&age=TOTAL&sex=T&unit=NR"
)


@pytest.fixture(scope="module")
def mirror_url() -> Iterator[str]:
    server, base_url = serve_directory(SAMPLES)
    yield base_url
    server.shutdown()


def test_settings_read_the_mirror_url_and_the_registry_profile() -> None:
    settings = Settings.from_env(
        {"OBSERVATORY_MIRROR_URL": "http://127.0.0.1:9", "OBSERVATORY_REGISTRY_PROFILE": "live"}
    )
    assert (settings.mirror_url, settings.registry_profile) == ("http://127.0.0.1:9", "live")
    assert (Settings.from_env({}).mirror_url, Settings.from_env({}).registry_profile) == (None, "demo")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ec.europa.eu/eurostat/x/data?b=2&a=1", "http://127.0.0.1:9/m/ec.europa.eu/eurostat/x/data?b=2&a=1"),
        ("http://example.org:8080/feed.xml", "http://127.0.0.1:9/m/example.org:8080/feed.xml"),
        ("http://127.0.0.1:5000/eurostat/file.tsv", "http://127.0.0.1:5000/eurostat/file.tsv"),  # this machine
        ("http://localhost/x", "http://localhost/x"),
    ],
)
def test_mirrored_rewrites_urls_of_other_hosts_only(url: str, expected: str) -> None:
    assert mirrored(url, "http://127.0.0.1:9/m/") == expected


def test_without_a_mirror_urls_are_left_as_they_are(monkeypatch) -> None:
    monkeypatch.delenv("OBSERVATORY_MIRROR_URL", raising=False)
    assert mirrored(POP1CTZ_URL) == POP1CTZ_URL


def test_a_live_url_is_fetched_from_the_mirror_and_keeps_its_live_resource(monkeypatch, mirror_url) -> None:
    monkeypatch.setenv("OBSERVATORY_MIRROR_URL", mirror_url)
    with http_session() as session:
        fetched = fetch_url(session, POP1CTZ_URL)
    assert fetched.payload == (SAMPLES / "eurostat/eurostat_migr_pop1ctz_FR_by_citizen_jsonstat2.json").read_bytes()
    assert (fetched.resource, fetched.media_type) == (POP1CTZ_URL, "application/json")


def test_query_parameters_match_in_any_order(mirror_url) -> None:
    shuffled = POP1CTZ_URL.replace("format=JSON&lang=EN&geo=FR&age=TOTAL", "age=TOTAL&geo=FR&lang=EN&format=JSON")
    answer = requests.get(mirrored(shuffled, mirror_url), timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"


def test_a_repeated_or_missing_parameter_does_not_match_and_the_404_names_the_request(monkeypatch, mirror_url) -> None:
    for url in (f"{POP1CTZ_URL}&geo=FR", POP1CTZ_URL.replace("&unit=NR", "")):
        answer = requests.get(mirrored(url, mirror_url), timeout=10)
        assert answer.status_code == 404
        assert answer.text == f"mirror: no entry in mirror/index.yml for {url}"
    monkeypatch.setenv("OBSERVATORY_MIRROR_URL", mirror_url)
    with http_session() as session, pytest.raises(FetchError, match="HTTP 404 Not Found: mirror: no entry in"):
        fetch_url(session, POP1CTZ_URL.replace("geo=FR", "geo=DE"))


def test_other_paths_are_still_served_as_sample_files(mirror_url) -> None:
    answer = requests.get(f"{mirror_url}/eurostat/estat_migr_resfirst_filtered.tsv", timeout=10)
    assert answer.content == (SAMPLES / "eurostat/estat_migr_resfirst_filtered.tsv").read_bytes()


def test_every_index_entry_is_answered_with_its_file(mirror_url) -> None:
    entries = Mirror.load(SAMPLES).entries
    assert {entry.file.name for entry in entries} >= {
        "estat_lfsa_ergan_filtered.tsv",
        "estat_lfsa_urgan_filtered.tsv",
        "estat_migr_resfirst_filtered.tsv",
        "eurostat_migr_pop1ctz_FR_by_citizen_jsonstat2.json",
    }
    for entry in entries:
        answer = requests.get(mirrored(entry.url, mirror_url), timeout=10)
        # gzipped when the URL asks compressed=true (SDMX 2.1) or compress=true (SDMX 3.0), as Eurostat answers
        asks_gzip = "compressed=true" in entry.url or "compress=true" in entry.url
        body = gzip.decompress(answer.content) if asks_gzip else answer.content
        assert answer.status_code == 200 and answer.content.startswith(b"\x1f\x8b") == asks_gzip, entry.url
        assert body == entry.file.read_bytes(), entry.url


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ("url: https://x.org/a\n", "the index is a YAML list of entries"),
        ("- {url: https://x.org/a}\n", "entry 1: an entry is a mapping with 'url' and 'file'"),
        ("- {url: https://x.org/a, file: missing.tsv}\n", "entry 1: file 'missing.tsv' is not in"),
        ("- {url: https://x.org/a, file: a.tsv, async: {key: k}}\n", "'async' needs a 'key' and a non-empty list"),
    ],
)
def test_a_malformed_index_is_refused_naming_the_entry(tmp_path, index: str, message: str) -> None:
    (tmp_path / "mirror").mkdir()
    (tmp_path / "a.tsv").write_text("x")
    (tmp_path / "mirror" / "index.yml").write_text(index)
    with pytest.raises(ValueError, match=message):
        Mirror.load(tmp_path)
