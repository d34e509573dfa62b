"""observatory.collect.eurostat: the URL of a registry entry for each API, option validation, conditional GETs of
the real migr_pop1ctz JSON-stat response served from localhost, and Eurostat's error bodies in the raised error."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from observatory.collect.eurostat import dataset_url, fetch_dataset
from observatory.collect.eurostat_urls import query
from observatory.collect.http import FetchError, http_session
from observatory.config.registry import RegistryError
from observatory.parse import jsonstat

PROJECT = Path(__file__).resolve().parents[2]
POP1CTZ = (PROJECT / "sample_data/eurostat/eurostat_migr_pop1ctz_FR_by_citizen_jsonstat2.json").read_bytes()
API_FIXTURES = PROJECT / "tests/fixtures/eurostat_api"
WHERE = "source 'estat_pop_fr', field 'collect'"
LAST_MODIFIED = "Tue, 22 Sep 2026 21:00:00 GMT"
BASE = "http://127.0.0.1:8080/eurostat/api/dissemination"


def test_statistics_url_names_dataset_filters_time_range_format_and_language() -> None:
    url = dataset_url(
        {
            "dataset": "migr_pop1ctz",
            "filters": {"geo": "FR", "citizen": ["MA", "PT"], "sex": "T", "age": "TOTAL", "unit": "NR"},
            "since": 2014,
            "until": "2023",
            "base_url": f"{BASE}/",
        },
        where=WHERE,
    )
    assert url == (
        f"{BASE}/statistics/1.0/data/migr_pop1ctz"
        "?format=JSON&lang=EN&geo=FR&citizen=MA&citizen=PT&sex=T&age=TOTAL&unit=NR"
        "&sinceTimePeriod=2014&untilTimePeriod=2023"
    )


def test_sdmx_url_has_the_key_in_dimension_order_and_parameters_in_a_stable_order() -> None:
    options = {"api": "sdmx", "dataset": "lfsa_ergan", "since": "2015", "until": "2024", "base_url": BASE}
    as_list = dataset_url(
        {**options, "key": ["A", "PC", ["F", "M", "T"], "Y20-64", ["NAT", "NEU27_2020_FOR"], ""]}, where=WHERE
    )
    as_text = dataset_url({**options, "key": "A.PC.F+M+T.Y20-64.NAT+NEU27_2020_FOR."}, where=WHERE)
    assert (
        as_list
        == as_text
        == (
            f"{BASE}/sdmx/2.1/data/lfsa_ergan/A.PC.F+M+T.Y20-64.NAT+NEU27_2020_FOR."
            "?format=TSV&compressed=true&startPeriod=2015&endPeriod=2024"
        )
    )
    whole = dataset_url(
        {"api": "sdmx", "dataset": "lfsa_ergan", "format": "SDMX-CSV", "compressed": False, "base_url": BASE},
        where=WHERE,
    )
    assert whole == f"{BASE}/sdmx/2.1/data/lfsa_ergan?format=SDMX-CSV&compressed=false"


def test_sdmx3_url_is_the_data_browser_sdmx_csv_2_with_component_filters() -> None:
    url = dataset_url(
        {
            "api": "sdmx3",
            "dataset": "urb_cpopcb",
            "filters": {"indic_ur": "DE2009V", "cities": ["BE001C", "DE002C"]},
            "since": "2015",
            "until": "2024",
            "labels": "name",
            "base_url": BASE,
        },
        where=WHERE,
    )
    assert url == (
        f"{BASE}/sdmx/3.0/data/dataflow/ESTAT/urb_cpopcb/1.0"
        "?c[indic_ur]=DE2009V&c[cities]=BE001C,DE002C&c[TIME_PERIOD]=ge:2015+le:2024"
        "&compress=true&format=csvdata&formatVersion=2.0&lang=en&labels=name"
    )


def test_base_url_defaults_to_the_environment_then_to_eurostat(monkeypatch) -> None:
    monkeypatch.setenv("EUROSTAT_API_BASE_URL", "http://127.0.0.1:9/api")
    assert dataset_url({"dataset": "lfsa_ergan"}, where=WHERE) == (
        "http://127.0.0.1:9/api/statistics/1.0/data/lfsa_ergan?format=JSON&lang=EN"
    )
    monkeypatch.delenv("EUROSTAT_API_BASE_URL")
    url = dataset_url({"dataset": "lfsa_ergan", "lang": "FR"}, where=WHERE)
    assert url == "https://ec.europa.eu/eurostat/api/dissemination/statistics/1.0/data/lfsa_ergan?format=JSON&lang=FR"


def test_polling_options_default_small_enough_to_wait_and_can_be_set() -> None:
    default = query({"dataset": "lfsa_ergan"}, where=WHERE)
    chosen = query({"api": "sdmx", "dataset": "lfsa_ergan", "poll_interval": 0.5, "max_wait": 30}, where=WHERE)
    assert (default.poll_interval, default.max_wait) == (5.0, 900.0)
    assert (chosen.api, chosen.poll_interval, chosen.max_wait) == ("sdmx", 0.5, 30.0)
    assert chosen.base_url == "https://ec.europa.eu/eurostat/api/dissemination"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "'dataset' must be a Eurostat dataset code"),
        ({"dataset": "migr pop1ctz"}, "'dataset' must be a Eurostat dataset code"),
        ({"dataset": "migr_pop1ctz", "filter": {"geo": "FR"}}, "unknown option 'filter' for api statistics"),
        ({"dataset": "migr_pop1ctz", "filters": ["geo", "FR"]}, "'filters' must map dimensions"),
        ({"dataset": "migr_pop1ctz", "api": "rest"}, "'api' must be one of statistics, sdmx, sdmx3"),
        ({"dataset": "migr_pop1ctz", "format": "TSV"}, "'format' of the statistics API is JSON"),
        ({"dataset": "migr_pop1ctz", "key": "A.PC"}, "unknown option 'key' for api statistics"),
        ({"dataset": "lfsa_ergan", "api": "sdmx", "filters": {"geo": "FR"}}, "unknown option 'filters' for api sdmx"),
        ({"dataset": "lfsa_ergan", "api": "sdmx", "format": "JSON"}, "'format' of the sdmx API must be one of"),
        ({"dataset": "lfsa_ergan", "api": "sdmx", "key": "A.P C"}, "'key' 'A.P C' is not dot-separated"),
        ({"dataset": "lfsa_ergan", "api": "sdmx", "key": {"geo": "FR"}}, "'key' must be a string"),
        ({"dataset": "lfsa_ergan", "api": "sdmx", "compressed": "yes"}, "'compressed' must be true or false"),
        ({"dataset": "lfsa_ergan", "api": "sdmx3", "key": "A"}, "unknown option 'key' for api sdmx3"),
        ({"dataset": "lfsa_ergan", "api": "sdmx3", "labels": "codes"}, "'labels' must be one of id, name, both"),
        ({"dataset": "lfsa_ergan", "since": "last year"}, "'since' must be a time period"),
        ({"dataset": "lfsa_ergan", "max_wait": -1}, "'max_wait' must be a number of seconds"),
        ({"dataset": "lfsa_ergan", "poll_interval": "5s"}, "'poll_interval' must be a number of seconds"),
    ],
)
def test_invalid_options_are_one_error_naming_the_source_and_field(options: dict, message: str) -> None:
    with pytest.raises(RegistryError, match=f"^{WHERE}.*{message}"):
        dataset_url(options, where=WHERE)


def test_first_fetch_is_unconditional_and_returns_the_dataset(httpserver) -> None:
    etag = f'"{hashlib.sha256(POP1CTZ).hexdigest()[:16]}"'
    httpserver.expect_request("/statistics/1.0/data/migr_pop1ctz").respond_with_data(
        POP1CTZ, content_type="application/json", headers={"ETag": etag, "Last-Modified": LAST_MODIFIED}
    )
    request = query(
        {"dataset": "migr_pop1ctz", "filters": {"geo": "FR"}, "base_url": httpserver.url_for("/")}, where=WHERE
    )
    with http_session() as session:
        fetched = fetch_dataset(session, request, None)
    sent = httpserver.log[0][0]
    assert "If-None-Match" not in sent.headers and "If-Modified-Since" not in sent.headers
    assert dict(parse_qsl(urlsplit(sent.url).query)) == {"format": "JSON", "lang": "EN", "geo": "FR"}
    assert (fetched.resource, fetched.http_status, fetched.etag, fetched.last_modified) == (
        request.url,
        200,
        etag,
        LAST_MODIFIED,
    )
    assert fetched.payload == POP1CTZ and fetched.media_type == "application/json"
    assert sum(1 for _ in jsonstat.parse(fetched.payload, {})) == 927


def test_known_validators_make_the_request_conditional_and_304_has_no_payload(httpserver) -> None:
    httpserver.expect_request(
        "/statistics/1.0/data/migr_pop1ctz", headers={"If-None-Match": '"v1"', "If-Modified-Since": LAST_MODIFIED}
    ).respond_with_data(b"", status=304, headers={"ETag": '"v1"'})
    request = query({"dataset": "migr_pop1ctz", "base_url": httpserver.url_for("/")}, where=WHERE)
    with http_session() as session:
        fetched = fetch_dataset(session, request, ('"v1"', LAST_MODIFIED))
    assert (fetched.http_status, fetched.payload, fetched.etag) == (304, b"", '"v1"')


def test_validators_of_one_fetch_do_not_leak_into_the_next(httpserver) -> None:
    httpserver.expect_request("/statistics/1.0/data/migr_pop1ctz").respond_with_data(POP1CTZ)
    request = query({"dataset": "migr_pop1ctz", "base_url": httpserver.url_for("/")}, where=WHERE)
    with http_session() as session:
        fetch_dataset(session, request, ('"v1"', None))
        fetch_dataset(session, request, None)
    first, second = (sent.headers for sent, _ in httpserver.log)
    assert first.get("If-None-Match") == '"v1"' and "If-Modified-Since" not in first
    assert "If-None-Match" not in second


@pytest.mark.parametrize(
    ("api", "status", "fixture", "content_type", "message"),
    [
        (
            "statistics",
            400,
            "statistics_error_400.json",
            "application/json",
            r"HTTP 400 BAD REQUEST: INVALID_QUERY_DIMENSION: .*\"FROMTIMEPERIOD\" is not defined "
            r"\(Eurostat error 150\)",
        ),
        (
            "sdmx",
            413,
            "sdmx_fault_413.xml",
            "application/xml",
            r"HTTP 413 REQUEST ENTITY TOO LARGE: EXTRACTION_TOO_BIG: The requested extraction is too big, "
            r"estimated 420709314 rows.* \(Eurostat fault 413\)",
        ),
        (
            "sdmx",
            404,
            "sdmx_error_404.xml",
            "application/xml",
            r"HTTP 404 NOT FOUND: No Results Found \(SDMX error 100\)",
        ),
    ],
)
def test_an_http_error_carries_the_message_of_eurostats_error_body(
    httpserver, api: str, status: int, fixture: str, content_type: str, message: str
) -> None:
    request = query({"api": api, "dataset": "x_ds", "base_url": httpserver.url_for("/")}, where=WHERE)
    httpserver.expect_request(urlsplit(request.url).path).respond_with_data(
        (API_FIXTURES / fixture).read_bytes(), status=status, content_type=content_type
    )
    with http_session() as session, pytest.raises(FetchError, match=f"^GET {re.escape(request.url)}: {message}"):
        fetch_dataset(session, request, None)
