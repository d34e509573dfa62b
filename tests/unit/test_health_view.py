"""The Observatory page's building blocks on rows, without a server: the JSON body, the HTML table with its links,
and the login every route requires."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from fastapi.testclient import TestClient

from observatory.airflow.health_view import create_app, health_payload, render_page

ROWS = [
    {
        "health_date": date(2026, 12, 1),
        "source_id": "eurostat_lfsa_ergan",
        "kind": "eurostat",
        "health_status": "ok",
        "freshness_status": "pass",
        "last_success_at": datetime(2026, 12, 1, 6, 30, tzinfo=UTC),
        "hours_since_success": Decimal("2.50"),
        "last_batch_load_id": "eurostat_lfsa_ergan__20261201_000000",
        "last_batch_status": "published",
        "expectations_failed": 0,
        "quarantined_last_7_days": 0,
        "quarantined_total": 0,
        "rejected_last_batch": 3,
        "note": None,
    },
    {
        "health_date": date(2026, 12, 1),
        "source_id": "broken<src>",
        "kind": "eurostat",
        "health_status": "error",
        "freshness_status": None,
        "last_success_at": None,
        "hours_since_success": None,
        "last_batch_load_id": "broken__20261201_000000",
        "last_batch_status": "quarantined",
        "expectations_failed": 2,
        "quarantined_last_7_days": 1,
        "quarantined_total": 4,
        "rejected_last_batch": 0,
        "note": "no batch published yet",
    },
]


def test_the_json_body_keeps_every_column_as_json_values() -> None:
    payload = health_payload(ROWS)
    assert payload["health_date"] == "2026-12-01"
    first, second = payload["rows"]
    assert first["last_success_at"] == "2026-12-01T06:30:00+00:00"
    assert first["hours_since_success"] == 2.5
    assert (first["rejected_last_batch"], second["quarantined_total"], second["last_success_at"]) == (3, 4, None)
    assert set(first) == set(ROWS[0])
    assert health_payload([]) == {"health_date": None, "rows": []}


def test_the_page_has_one_row_per_source_with_its_status_and_links() -> None:
    page = render_page(ROWS)
    assert "<h1>Data health on 2026-12-01</h1>" in page
    assert page.count("<tr class=") == 2
    assert '<tr class="ok" data-source="eurostat_lfsa_ergan">' in page
    assert '<a href="../dags/collect__eurostat_lfsa_ergan" target="_top">DAG</a>' in page
    assert '<a href="sources/eurostat_lfsa_ergan/rejected">evidence</a>' in page
    assert "<td>2026-12-01 06:30 UTC</td><td>eurostat_lfsa_ergan__20261201_000000</td><td>published</td>" in page
    assert "broken&lt;src&gt;" in page and "broken<src>" not in page  # escaped
    assert "<td>quarantined</td><td>2</td><td>1</td><td>4</td><td>0</td><td>no batch published yet</td>" in page


def test_the_page_says_when_there_is_no_summary_yet() -> None:
    assert "No data-health summary yet" in render_page([])


def test_every_route_requires_the_api_servers_login() -> None:
    def connect() -> None:
        raise AssertionError("the warehouse must not be read without a login")

    client = TestClient(create_app(connect))
    for path in ("/", "/health", "/sources/eurostat_lfsa_ergan/rejected"):
        answer = client.get(path)
        assert (answer.status_code, answer.json()) == (401, {"detail": "Not authenticated"}), path
