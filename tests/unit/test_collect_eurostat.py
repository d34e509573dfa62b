"""observatory.collect.eurostat: the Statistics API URL of a registry entry, and conditional GETs of the real
migr_pop1ctz JSON-stat response served from localhost."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from observatory.collect.eurostat import dataset_url, fetch_dataset
from observatory.collect.http import http_session
from observatory.config.registry import RegistryError
from observatory.parse import jsonstat

PROJECT = Path(__file__).resolve().parents[2]
POP1CTZ = (PROJECT / "sample_data/eurostat/eurostat_migr_pop1ctz_FR_by_citizen_jsonstat2.json").read_bytes()
WHERE = "source 'estat_pop_fr', field 'collect'"
LAST_MODIFIED = "Tue, 22 Sep 2026 21:00:00 GMT"


def test_url_names_dataset_filters_time_range_format_and_language() -> None:
    url = dataset_url(
        {
            "dataset": "migr_pop1ctz",
            "filters": {"geo": "FR", "citizen": ["MA", "PT"], "sex": "T", "age": "TOTAL", "unit": "NR"},
            "since": 2014,
            "until": "2023",
            "base_url": "http://127.0.0.1:8080/eurostat/api/dissemination/",
        },
        where=WHERE,
    )
    assert url == (
        "http://127.0.0.1:8080/eurostat/api/dissemination/statistics/1.0/data/migr_pop1ctz"
        "?format=JSON&lang=EN&geo=FR&citizen=MA&citizen=PT&sex=T&age=TOTAL&unit=NR"
        "&sinceTimePeriod=2014&untilTimePeriod=2023"
    )


def test_base_url_defaults_to_the_environment_then_to_eurostat(monkeypatch) -> None:
    monkeypatch.setenv("EUROSTAT_API_BASE_URL", "http://127.0.0.1:9/api")
    assert dataset_url({"dataset": "lfsa_ergan"}, where=WHERE) == (
        "http://127.0.0.1:9/api/statistics/1.0/data/lfsa_ergan?format=JSON&lang=EN"
    )
    monkeypatch.delenv("EUROSTAT_API_BASE_URL")
    url = dataset_url({"dataset": "lfsa_ergan", "lang": "FR"}, where=WHERE)
    assert url == "https://ec.europa.eu/eurostat/api/dissemination/statistics/1.0/data/lfsa_ergan?format=JSON&lang=FR"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "'dataset' must be a Eurostat dataset code"),
        ({"dataset": "migr pop1ctz"}, "'dataset' must be a Eurostat dataset code"),
        ({"dataset": "migr_pop1ctz", "filter": {"geo": "FR"}}, "unknown option 'filter'"),
        ({"dataset": "migr_pop1ctz", "filters": ["geo", "FR"]}, "'filters' must map dimensions"),
    ],
)
def test_invalid_options_name_the_source_and_field(options: dict, message: str) -> None:
    with pytest.raises(RegistryError, match=f"^{WHERE}.*{message}"):
        dataset_url(options, where=WHERE)


def test_first_fetch_is_unconditional_and_returns_the_dataset(httpserver) -> None:
    etag = f'"{hashlib.sha256(POP1CTZ).hexdigest()[:16]}"'
    httpserver.expect_request("/statistics/1.0/data/migr_pop1ctz").respond_with_data(
        POP1CTZ, content_type="application/json", headers={"ETag": etag, "Last-Modified": LAST_MODIFIED}
    )
    url = httpserver.url_for("/statistics/1.0/data/migr_pop1ctz") + "?format=JSON&lang=EN&geo=FR"
    with http_session() as session:
        fetched = fetch_dataset(session, url, None)
    request = httpserver.log[0][0]
    assert "If-None-Match" not in request.headers and "If-Modified-Since" not in request.headers
    assert dict(parse_qsl(urlsplit(request.url).query)) == {"format": "JSON", "lang": "EN", "geo": "FR"}
    assert (fetched.http_status, fetched.etag, fetched.last_modified) == (200, etag, LAST_MODIFIED)
    assert fetched.payload == POP1CTZ and fetched.media_type == "application/json"
    assert sum(1 for _ in jsonstat.parse(fetched.payload, {})) == 927


def test_known_validators_make_the_request_conditional_and_304_has_no_payload(httpserver) -> None:
    httpserver.expect_request(
        "/statistics/1.0/data/migr_pop1ctz", headers={"If-None-Match": '"v1"', "If-Modified-Since": LAST_MODIFIED}
    ).respond_with_data(b"", status=304, headers={"ETag": '"v1"'})
    url = httpserver.url_for("/statistics/1.0/data/migr_pop1ctz") + "?format=JSON&lang=EN"
    with http_session() as session:
        fetched = fetch_dataset(session, url, ('"v1"', LAST_MODIFIED))
    assert (fetched.http_status, fetched.payload, fetched.etag) == (304, b"", '"v1"')


def test_validators_of_one_fetch_do_not_leak_into_the_next(httpserver) -> None:
    httpserver.expect_request("/statistics/1.0/data/migr_pop1ctz").respond_with_data(POP1CTZ)
    url = httpserver.url_for("/statistics/1.0/data/migr_pop1ctz") + "?format=JSON&lang=EN"
    with http_session() as session:
        fetch_dataset(session, url, ('"v1"', None))
        fetch_dataset(session, url, None)
    first, second = (request.headers for request, _ in httpserver.log)
    assert first.get("If-None-Match") == '"v1"' and "If-Modified-Since" not in first
    assert "If-None-Match" not in second
