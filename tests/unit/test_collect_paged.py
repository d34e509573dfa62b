"""The paged-API collector against a local HTTP server (pytest-httpserver), configured through the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from observatory.collect import collect_source
from observatory.collect.http import FetchError
from observatory.collect.paged import with_params
from observatory.config.registry import Source, load_registry
from observatory.parse import parser_for

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "funding"
SOCRATA_PATH = "/resource/abcd-1234.json"


def source(tmp_path: Path, collect: dict, parse: dict | None = None, url: str = "") -> Source:
    """A registry entry with the paged collector, read through the real registry loader."""
    entry = {
        "kind": "funding",
        "format": "funding_json",
        "description": "paged test source",
        "publisher": "test",
        "suite": "funding_operation",
        "collector": "paged",
        "urls": [url],
        "collect": collect,
        "parse": parse or {"fields": {"beneficiary_name": "beneficiary_name"}},
        "freshness": {"warn_after_hours": 48, "error_after_hours": 168},
    }
    registry = tmp_path / "sources.yml"
    registry.write_text(json.dumps({"sources": {"paged_test": entry}}), encoding="utf-8")
    return load_registry(registry)["paged_test"]


def fetch_all(src: Source) -> list:
    return [fetch() for _, fetch in collect_source(src)]


def page(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_offset_paging_stops_at_a_short_page(httpserver: HTTPServer, tmp_path: Path) -> None:
    for offset, name in ((0, "cohesion_socrata_page1.json"), (2, "cohesion_socrata_page2.json")):
        httpserver.expect_oneshot_request(
            SOCRATA_PATH, query_string={"$order": ":id", "$limit": "2", "$offset": str(offset)}
        ).respond_with_data(page(name), content_type="application/json")
    src = source(
        tmp_path,
        {"paging": "offset", "page_size": 2, "params": {"$order": ":id"}},
        url=httpserver.url_for(SOCRATA_PATH),
    )
    pages = fetch_all(src)
    assert [p.resource for p in pages] == [
        httpserver.url_for(SOCRATA_PATH) + "?$order=:id&$limit=2&$offset=0",
        httpserver.url_for(SOCRATA_PATH) + "?$order=:id&$limit=2&$offset=2",
    ]
    assert [p.resource_name for p in pages] == ["abcd-1234.json"] * 2
    httpserver.check_assertions()
    parser = parser_for(src.format)
    names = [row[1] for p in pages for row in parser.parse(p.payload, src.parse)]
    assert names == ["Comune di Milano", "Fondazione Lavoro Insieme", "Cooperativa Sociale Il Ponte"]


def test_offset_paging_asks_once_more_after_a_full_last_page(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_oneshot_request(SOCRATA_PATH, query_string={"$limit": "3", "$offset": "0"}).respond_with_data(
        json.dumps([{"beneficiary_name": n} for n in "ABC"]), content_type="application/json"
    )
    httpserver.expect_oneshot_request(SOCRATA_PATH, query_string={"$limit": "3", "$offset": "3"}).respond_with_json([])
    assert (
        len(fetch_all(source(tmp_path, {"paging": "offset", "page_size": 3}, url=httpserver.url_for(SOCRATA_PATH))))
        == 2
    )
    httpserver.check_assertions()


def test_next_links_are_followed_relative_to_the_page(httpserver: HTTPServer, tmp_path: Path) -> None:
    for name in ("amif_api_page1.json", "amif_api_page2.json"):
        httpserver.expect_oneshot_request(f"/api/v1/{name}").respond_with_data(
            page(name), content_type="application/json"
        )
    src = source(
        tmp_path,
        {"paging": "next_link", "records_path": "data", "next_path": "links.next"},
        url=httpserver.url_for("/api/v1/amif_api_page1.json"),
    )
    assert [p.resource for p in fetch_all(src)] == [
        httpserver.url_for("/api/v1/amif_api_page1.json"),
        httpserver.url_for("/api/v1/amif_api_page2.json"),
    ]
    httpserver.check_assertions()


def test_nothing_more_is_asked_when_the_caller_stops(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_oneshot_request("/p1").respond_with_json({"items": [{}], "next": "/p2"})
    src = source(tmp_path, {"paging": "next_link", "records_path": "items"}, url=httpserver.url_for("/p1"))
    resources = collect_source(src)
    first_url, first_fetch = next(resources)
    assert first_fetch().resource == first_url
    resources.close()
    assert len(httpserver.log) == 1


def test_more_pages_than_max_pages_fails(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/loop").respond_with_json({"items": [{}], "next": "/loop"})
    src = source(
        tmp_path, {"paging": "next_link", "records_path": "items", "max_pages": 3}, url=httpserver.url_for("/loop")
    )
    with pytest.raises(FetchError, match="more than max_pages=3 pages"):
        fetch_all(src)
    assert len(httpserver.log) == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>maintenance</html>", "not a JSON page"),
        ('{"rows": []}', "no array of records at 'items'"),
        ('{"items": [], "next": 7}', "next link is a int"),
    ],
)
def test_bad_pages_fail_their_fetch(httpserver: HTTPServer, tmp_path: Path, body: str, message: str) -> None:
    httpserver.expect_request("/bad").respond_with_data(body)
    src = source(tmp_path, {"paging": "next_link", "records_path": "items"}, url=httpserver.url_for("/bad"))
    with pytest.raises(FetchError, match=message):
        fetch_all(src)


def test_http_errors_surface(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_all(source(tmp_path, {"paging": "offset"}, url=httpserver.url_for("/gone")))


def test_paging_mode_is_required(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="collect.paging must be one of offset, next_link"):
        fetch_all(source(tmp_path, {}, url="http://127.0.0.1:9/never"))


def test_with_params_replaces_and_keeps_socrata_names() -> None:
    assert with_params("https://data.example.org/r.json?$limit=5&a=1", {"$limit": 10, "$offset": 20}) == (
        "https://data.example.org/r.json?$limit=10&a=1&$offset=20"
    )
