"""The sample server: files as they are, and Socrata resources answered with SODA filters and $limit/$offset."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from observatory.config.settings import Settings
from observatory_dev.sample_server import QueryError, serve_directory, socrata_page

SAMPLE_DATA = Settings.from_env().sample_data_dir

COHESION = "/funding/cohesiondata/resource/557j-pmg8.json"
RECORDS = json.loads((SAMPLE_DATA / COHESION.lstrip("/")).read_text(encoding="utf-8"))
ITALIAN = [r["beneficiary_name"] for r in RECORDS if r["country"] == "Italy"]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server, url = serve_directory()
    yield url
    server.shutdown()


def test_the_sample_has_italian_and_french_records() -> None:
    assert len(RECORDS) == 9 and len(ITALIAN) == 7
    assert ITALIAN[:2] == ["Comune di Milano", "Fondazione Lavoro Insieme"]


def test_filters_apply_before_paging(base_url: str) -> None:
    pages = [
        requests.get(
            f"{base_url}{COHESION}",
            params={"country": "Italy", "$order": ":id", "$limit": 3, "$offset": offset},
            timeout=10,
        )
        for offset in (0, 3, 6, 9)
    ]
    assert {p.status_code for p in pages} == {200}
    assert pages[0].headers["Content-Type"] == "application/json; charset=utf-8"
    names = [[r["beneficiary_name"] for r in p.json()] for p in pages]
    assert [len(n) for n in names] == [3, 3, 1, 0]
    assert sum(names, []) == ITALIAN
    assert pages[0].json()[0] == RECORDS[0]  # records as in the file: text values, empty fields left out


def test_without_parameters_the_first_thousand_records_in_file_order(base_url: str) -> None:
    assert requests.get(f"{base_url}{COHESION}", timeout=10).json() == RECORDS


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"$where": "country='Italy'"}, r"not supported.*\$where"),
        ({"$order": "beneficiary_name"}, "only :id"),
        ({"$limit": "ten"}, "must be integers"),
        ({"$offset": "-3"}, "must not be negative"),
    ],
)
def test_queries_the_server_cannot_answer_fail(base_url: str, query: dict, message: str) -> None:
    response = requests.get(f"{base_url}{COHESION}", params=query, timeout=10)
    assert response.status_code == 400
    with pytest.raises(QueryError, match=message):
        socrata_page(RECORDS, list(query.items()))


def test_other_files_are_served_as_they_are(base_url: str) -> None:
    response = requests.get(f"{base_url}/funding/esf_berlin_shape.csv", params={"$limit": 1}, timeout=10)
    assert response.content == (SAMPLE_DATA / "funding" / "esf_berlin_shape.csv").read_bytes()
    assert requests.get(f"{base_url}/funding/cohesiondata/resource/nope.json", timeout=10).status_code == 404


def test_a_resource_that_is_not_an_array_is_refused() -> None:
    with pytest.raises(QueryError, match="not a JSON array"):
        socrata_page({"rows": []}, [])  # type: ignore[arg-type]
