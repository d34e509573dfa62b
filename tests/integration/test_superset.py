"""`make bi`: Apache Superset (its own virtual environment) on a test warehouse's marts as bi_reader, provisioned
from bi/superset/assets by observatory.reporting.bi_setup; each chart's saved query run through Superset's API
(``GET /api/v1/chart/{id}/data/``) with values from the real sample files; the dashboard opened in headless
Chromium (Debian's chromium driven by Playwright) with every chart rendered and no error, screenshot in
``.local/bi/dashboard.png``. One Superset for the module (select it with ``-m bi``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from observatory import pipeline
from observatory.config.settings import Settings
from observatory.reporting.bi_setup import DASHBOARD_SLUG, SupersetSettings, admin_session
from observatory.warehouse import bootstrap, connection
from observatory_dev import bi
from observatory_dev.browser import launch_options
from observatory_dev.celery_harness import free_port
from observatory_dev.docs_site import dbt_command

pytestmark = [pytest.mark.integration, pytest.mark.bi]

DAY = datetime(2026, 4, 1, tzinfo=UTC)
SOURCES = ("eurostat_lfsa_ergan", "eurostat_lfsa_urgan", "eurostat_urb_cpopcb", "funding_esf_berlin")
MARTS = "+mart_integration_scoreboard +mart_city_profile +mart_funding_overview"


@pytest.fixture(scope="module")
def reader_dsn(warehouse_dsn: str, sample_base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The three marts the dashboard reads, collected and built in the test database; bi_reader's connection
    string of that database (the local cluster's bi_reader password: roles are cluster-wide)."""
    settings = Settings.from_env().replace(landing_dir=tmp_path_factory.mktemp("landing"))
    for source_id in SOURCES:
        assert pipeline.run_source(source_id, DAY, settings) > 0
    with tempfile.TemporaryDirectory() as target:
        build = ["build", "--select", MARTS, "--exclude-resource-type", "test", "unit_test", "--target-path", target]
        dbt_command(build, warehouse_dsn)  # the data only: the marts' tests run in their own modules
    os.environ.pop(connection.DSN_ENV)
    try:
        bootstrap.ensure_warehouse()  # the local cluster's bi_reader login, as `observatory up` leaves it
    finally:
        os.environ[connection.DSN_ENV] = warehouse_dsn
    previous = os.environ.get(connection.BI_PASSWORD_ENV)
    os.environ[connection.BI_PASSWORD_ENV] = connection.bi_password_file().read_text().strip()
    yield connection.reader_dsn()
    if previous is None:
        os.environ.pop(connection.BI_PASSWORD_ENV)
    else:
        os.environ[connection.BI_PASSWORD_ENV] = previous


@pytest.fixture(scope="module")
def superset(
    reader_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[bi.Superset, requests.Session]]:
    server = bi.Superset(tmp_path_factory.mktemp("superset"), free_port())
    seconds = bi.start(Settings.from_env(), server, reader_dsn)
    print(f"superset started and provisioned in {seconds:.1f}s")
    try:
        password = bi.admin_password(server)
        yield server, admin_session(SupersetSettings(server.url, bi.ADMIN_USER, password, "", 0, "", "", Path()))
    finally:
        assert bi.stop(server)


def chart_rows(superset: tuple[bi.Superset, requests.Session]) -> dict[str, tuple[str, list[dict]]]:
    """Chart name → (the SQL Superset ran, the rows it got), for every chart of the dashboard."""
    server, session = superset
    charts = session.get(f"{server.url}/api/v1/dashboard/{DASHBOARD_SLUG}/charts", timeout=30)
    charts.raise_for_status()
    found = {}
    for chart in charts.json()["result"]:
        answer = session.get(f"{server.url}/api/v1/chart/{chart['id']}/data/", timeout=60)
        assert answer.status_code == 200, answer.text[:500]
        (result,) = answer.json()["result"]
        assert result["error"] is None and result["status"] == "success", result
        found[chart["slice_name"]] = (result["query"], result["data"])
    return found


def test_superset_reads_the_marts_as_bi_reader(superset: tuple[bi.Superset, requests.Session], reader_dsn: str) -> None:
    server, session = superset
    (database,) = session.get(f"{server.url}/api/v1/database/", timeout=30).json()["result"]
    uri = session.get(f"{server.url}/api/v1/database/{database['id']}/connection", timeout=30).json()["result"]
    parts, expected = urlsplit(uri["sqlalchemy_uri"]), urlsplit(reader_dsn)
    assert (parts.username, parts.password, parts.hostname, parts.port, parts.path) == (
        "bi_reader",
        "XXXXXXXXXX",  # stored encrypted, shown masked
        expected.hostname,
        expected.port,
        expected.path,
    )
    assert uri["backend"] == "postgresql" and not uri["allow_dml"]


def test_every_chart_query_returns_the_marts_rows(superset: tuple[bi.Superset, requests.Session]) -> None:
    charts = chart_rows(superset)
    assert set(charts) == {
        "Integration scoreboard (employment rate gap)",
        "City profile (foreign-born residents)",
        "Funding per city (EUR committed)",
    }
    query, scoreboard = charts["Integration scoreboard (employment rate gap)"]
    assert "FROM marts.mart_integration_scoreboard" in query
    # lfsa_ergan 2024, 20-64, both sexes: 27 member states ranked; Croatia's non-EU citizens lead nationals most
    assert len(scoreboard) == 27 and [row["rank_among_countries"] for row in scoreboard] == list(range(1, 28))
    assert scoreboard[0]["geo_code"] == "HR" and scoreboard[0]["reference_year"] == "2024"
    assert scoreboard[0]["gap"] == pytest.approx(6.8)
    _, cities = charts["City profile (foreign-born residents)"]
    assert len(cities) == 10
    assert (cities[0]["city_name"], cities[0]["country_code"], cities[0]["foreign_born_year"]) == ("Paris", "FR", 2022)
    assert float(cities[0]["foreign_born_population"]) == 2694007
    assert [row["city_name"] for row in cities[1:3]] == ["Madrid", "Barcelona"]
    _, funding = charts["Funding per city (EUR committed)"]
    # the ESF Berlin list: 8 operations 2016-2018, 1,092,106.60 + 1,266,631.64 + 312,004.07 EUR
    assert [(row["city_name"], float(row["committed_eur"])) for row in funding] == [("Berlin", 2670742.31)]


def test_provisioning_again_replaces_what_it_imported(
    superset: tuple[bi.Superset, requests.Session], reader_dsn: str
) -> None:
    server, session = superset
    bi.start(Settings.from_env(), server, reader_dsn)  # already running: the assets are imported once more
    counts = {
        kind: session.get(f"{server.url}/api/v1/{kind}/", timeout=30).json()["count"]
        for kind in ("database", "dataset", "chart", "dashboard")
    }
    assert counts == {"database": 1, "dataset": 3, "chart": 3, "dashboard": 1}


def test_dashboard_renders_every_chart_in_headless_chromium(superset: tuple[bi.Superset, requests.Session]) -> None:
    from playwright.sync_api import sync_playwright

    server, session = superset
    charts = session.get(f"{server.url}/api/v1/dashboard/{DASHBOARD_SLUG}/charts", timeout=30).json()["result"]
    screenshot = Settings.from_env().local_dir / "bi" / "dashboard.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1800})

            page.route(  # the page's few outside requests (web fonts, an analytics pixel) refused, never sent
                "**/*",
                lambda route: (
                    route.continue_() if urlsplit(route.request.url).hostname == "127.0.0.1" else route.abort()
                ),
            )
            page.goto(f"{server.url}/login/")
            page.fill("input#username", bi.ADMIN_USER)
            page.fill("input#password", bi.admin_password(server))
            page.keyboard.press("Enter")
            page.wait_for_url("**/superset/welcome/**", timeout=60_000)
            page.goto(server.dashboard_url)
            for chart in charts:
                holder = page.locator(f'[data-test-chart-id="{chart["id"]}"]')
                drawn = holder.locator('[data-test="chart-container"]').locator("canvas, table tbody tr")
                drawn.first.wait_for(timeout=60_000)  # a pie's canvas, a table's rows
                assert holder.locator('[data-test="error-alert"], .alert-danger').count() == 0, chart["slice_name"]
            assert page.get_by_text("Unexpected error").count() == 0
            page.screenshot(path=str(screenshot), full_page=True)
            rendered = {
                chart["slice_name"]: page.locator(f'[data-test-chart-id="{chart["id"]}"]').inner_text()
                for chart in charts
            }
        finally:
            browser.close()
    assert "HR" in rendered["Integration scoreboard (employment rate gap)"]
    assert "Paris" in rendered["City profile (foreign-born residents)"]
    assert screenshot.stat().st_size > 10_000
