"""`make report`, `make docs`, `make test-changed` and the analysts' model templates, on a test database: the two
lfsa sources and one funding source collected with the real pipeline and the marts built with `dbt build`; then
the static report (values from the real Eurostat files), dbt docs + GX Data Docs, dbt's state comparison against
a git ref, and the templates filled in, parsed by dbt and linted with the project's sqlfluff rules. The report is
also opened in headless Chromium (Debian's chromium driven by Playwright): it renders, every section the navigation
names is there with its heading and its charts drawn, no console error, nothing loaded but the page itself; a
screenshot goes to ``.local/report/report.png``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import pytest

from observatory import pipeline
from observatory.config.settings import Settings
from observatory_dev.browser import launch_options
from observatory_dev.docs_site import dbt_command

DAY = datetime(2026, 4, 1, tzinfo=UTC)
SOURCES = ("eurostat_lfsa_ergan", "eurostat_lfsa_urgan", "eurostat_urb_cpopcb", "funding_esf_berlin")


@pytest.fixture(scope="module")
def built_marts(warehouse_dsn: str, sample_base_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Collected with observatory.pipeline, transformed with dbt build (into a temporary target path)."""
    settings = Settings.from_env().replace(landing_dir=tmp_path_factory.mktemp("landing"))
    for source_id in SOURCES:
        assert pipeline.run_source(source_id, DAY, settings) > 0
    with tempfile.TemporaryDirectory() as target:
        dbt_command(
            [
                "build",
                "--select",
                "+mart_city_profile +fct_indicator_observation +fct_funding +dim_indicator",
                "--indirect-selection",
                "cautious",
                "--target-path",
                target,
            ],
            warehouse_dsn,
        )
    return warehouse_dsn


class Page(HTMLParser):
    """Tags, outside references and text of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.references: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.references += [value or "" for name, value in attrs if name in ("src", "href", "xlink:href")]

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


@pytest.fixture(scope="module")
def report(built_marts: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from observatory.reporting.report import write_report

    path = write_report(tmp_path_factory.mktemp("report") / "index.html", built_marts)
    return path, path.read_text(encoding="utf-8")


def panel_of(html: str, country: str, section: str) -> str:
    block = html.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    return re.search(rf"<h4><span>{country}</span>.*?</svg>", block, flags=re.S)[0]


def test_report_is_one_offline_page_with_a_chart_per_country(report: tuple[Path, str]) -> None:
    path, html = report
    page = Page()
    page.feed(html)
    assert path.name == "index.html" and page.tags[0] == "html"
    assert all(reference.startswith("#") for reference in page.references), "no network, no other file"
    assert "script" not in page.tags and "link" not in page.tags
    assert {'<section id="employment_rate">', '<section id="unemployment_rate">', '<section id="funding">'} <= set(
        re.findall(r'<section id="\w+">', html)
    )
    assert html.count('<svg class="spark"') >= 2 * 25  # both indicators, most EU and EFTA countries


def test_report_shows_the_real_gaps_over_time_and_the_scoreboard(report: tuple[Path, str]) -> None:
    _, html = report
    germany = panel_of(html, "Germany", "employment_rate")
    # lfsa_ergan, Germany, 20-64: non-EU minus nationals 60.3 - 82.7 in 2019, 62.6 - 84.1 in 2024
    assert "<title>2019: -22.4</title>" in germany and "<title>2024: -21.5</title>" in germany
    assert 'class="eu"' in germany and germany.count("<circle") >= 8
    row = re.search(r"<td>Germany</td><td>2024</td>(.*?)</tr>", html.split('id="employment_rate"')[1], re.S)[1]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert cells[:5] == ["84.1", "62.6", "-21.5", "+0.9", "-12.5"]
    assert re.search(
        r"<td>European Union - 27 countries \(from 2020\)</td><td>2024</td>.*?<td[^>]*>\+7\.2</td>",
        html.split('id="unemployment_rate"')[1],
        re.S,
    )  # 12.3 non-EU vs 5.1 nationals


def test_report_puts_funding_per_city_next_to_the_country_gap(report: tuple[Path, str], built_marts: str) -> None:
    _, html = report
    with psycopg.connect(built_marts) as conn:
        columns = {
            name
            for (name,) in conn.execute("""select column_name from information_schema.columns
                                                      where table_schema = 'marts' and table_name = 'fct_funding'""")
        }
        city = "city_name" if "city_name" in columns else "location_name"
        cities = conn.execute(f"""select {city}, sum(amount_eur) from marts.fct_funding
                                  where {city} is not null and {city} !~ '^[0-9 ]+$' group by 1""").fetchall()
    assert cities, "the funding mart locates operations in cities"
    funding = html.split('<section id="funding">', 1)[1]
    for name, amount in cities:
        row = re.search(rf"<tr><td>{re.escape(name)}</td>(.*?)</tr>", funding, re.S)[1]
        assert f"<td>{float(amount or 0):,.0f}</td>" in row
        assert "-21.5 (2024)" in row  # Germany's employment gap, next to a German city


def test_make_report_entry_point_prints_the_written_path(built_marts: str, tmp_path: Path, capsys) -> None:
    from observatory.reporting.report import main

    assert main([str(tmp_path / "out" / "index.html")]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == str((tmp_path / "out" / "index.html").resolve()) and Path(printed).stat().st_size > 10_000


def test_docs_build_dbt_docs_and_gx_data_docs(built_marts: str, tmp_path: Path) -> None:
    from observatory_dev.docs_site import build_docs

    pages = build_docs(tmp_path / "docs", built_marts)
    assert all(path.is_file() for path in pages.values())
    catalog = json.loads((tmp_path / "docs" / "dbt" / "catalog.json").read_text())
    scoreboard = catalog["nodes"]["model.observatory.mart_integration_scoreboard"]
    assert scoreboard["metadata"]["schema"] == "marts" and "gap" in scoreboard["columns"]
    assert "mart_integration_scoreboard" in (tmp_path / "docs" / "dbt" / "static_index.html").read_text()
    gx_index = (tmp_path / "docs" / "gx" / "index.html").read_text()
    assert "eurostat_rates" in gx_index and "eurostat_lfsa_ergan" in gx_index
    index = (tmp_path / "docs" / "index.html").read_text()
    assert 'href="dbt/static_index.html"' in index and 'href="gx/index.html"' in index


def test_state_comparison_selects_a_changed_model_and_its_descendants_only(built_marts: str, tmp_path: Path) -> None:
    from observatory_dev.slim_ci import export_project, modified_nodes, save_state

    state = tmp_path / "state"
    manifest = json.loads(save_state("HEAD", built_marts, state).read_text())
    committed = export_project("HEAD", tmp_path / "committed")
    assert modified_nodes(built_marts, committed, state) == set()

    changed = "model.observatory.dim_indicator"
    model = committed / manifest["nodes"][changed]["original_file_path"]
    model.write_text(model.read_text() + "\n-- changed by the slim CI test\n")
    expected, frontier = {changed}, [changed]
    while frontier:  # every node downstream of the change, tests and unit tests included
        children = {child for node in frontier for child in manifest["child_map"].get(node, [])} - expected
        expected |= children
        frontier = list(children)
    expected |= {
        node
        for node in manifest.get("unit_tests", {})
        if manifest["unit_tests"][node]["depends_on"]["nodes"][0] in expected
    }
    selected = modified_nodes(built_marts, committed, state)
    assert changed in selected and "model.observatory.stg_eurostat__observations" not in selected
    assert selected == expected


def test_analyst_templates_parse_with_their_tests_and_pass_the_sql_rules(warehouse_dsn: str, tmp_path: Path) -> None:
    """dbt_project/templates filled in as its README says, inside a copy of the dbt project."""
    settings = Settings.from_env()
    from observatory.warehouse.connection import dbt_env

    project = tmp_path / "dbt_project"
    shutil.copytree(settings.dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    values = {
        "__source__": "template_check",
        "__raw_table__": "eurostat_observation",
        "__entities__": "rows",
        "__entity__": "template_row",
    }
    placed = {
        "staging/stg_source__entity.sql": "staging/template_check/stg_template_check__rows.sql",
        "staging/_source__sources.yml": "staging/template_check/_template_check__sources.yml",
        "staging/_source__models.yml": "staging/template_check/_template_check__models.yml",
        "marts/fct_entity.sql": "marts/fct_template_row.sql",
        "marts/_entity__models.yml": "marts/_template_row__models.yml",
    }
    for template, destination in placed.items():
        text = (settings.dbt_project_dir / "templates" / template).read_text()
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        assert "__" not in re.sub(r"stg_template_check__rows|_template_check__|_template_row__", "", text)
        (project / "models" / destination).parent.mkdir(parents=True, exist_ok=True)
        (project / "models" / destination).write_text(text)

    with tempfile.TemporaryDirectory() as target:
        dbt_command(["parse", "--target-path", target], warehouse_dsn, project)
        manifest = json.loads((Path(target) / "manifest.json").read_text())
    fct = manifest["nodes"]["model.observatory.fct_template_row"]
    assert fct["depends_on"]["nodes"] == ["model.observatory.stg_template_check__rows"]
    assert fct["config"]["materialized"] == "table" and fct["schema"] == "marts"
    tests = {
        node["test_metadata"]["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and "model.observatory.fct_template_row" in node["depends_on"]["nodes"]
    }
    assert tests == {"unique", "not_null"}
    assert "source.observatory.template_check.eurostat_observation" in manifest["sources"]

    config = (settings.project_root / ".sqlfluff").read_text()
    config = config.replace("project_dir = dbt_project", f"project_dir = {project}")
    config = config.replace("profiles_dir = dbt_project", f"profiles_dir = {project}")
    (tmp_path / ".sqlfluff").write_text(config)
    lint = subprocess.run(
        [
            str(Path(sys.executable).parent / "sqlfluff"),
            "lint",
            "--format",
            "json",
            str(project / "models" / "staging" / "template_check" / "stg_template_check__rows.sql"),
            str(project / "models" / "marts" / "fct_template_row.sql"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **dbt_env(warehouse_dsn)},
    )
    results = json.loads(lint.stdout)
    assert len(results) == 2 and [violation for result in results for violation in result["violations"]] == []


def test_report_ranks_cities_by_foreign_born_population_and_says_why_no_share(report: tuple[Path, str]) -> None:
    _, html = report
    cities = html.split('<section id="cities">', 1)[1].split("</section>", 1)[0]
    assert "no total population (urb_cpop1) is collected, so no share is" in cities
    ranks = re.findall(r"<tr><td>(\d+)</td><td class=\"text\">([^<]+)</td>", cities)
    assert ranks[0][0] == "1" and len(ranks) >= 30
    # the real file's largest foreign-born count among cities (Paris, greater city) comes first
    assert ranks[0][1] in ("Paris", "London", "Madrid")
    assert re.search(r"<li><strong>Köln</strong>: [^<]*2020-2021: 277600 to 16000", cities)  # shown, not hidden


def test_report_marks_sample_funding_and_names_what_is_missing(report: tuple[Path, str]) -> None:
    _, html = report
    funding = html.split('<section id="funding">', 1)[1].split("</section>", 1)[0]
    assert "sample: written for the project" in funding  # the ESF Berlin list bundled here is a sample
    coverage = html.split('<section id="coverage">', 1)[1].split("</section>", 1)[0]
    assert "no observations: no published batch holds ilc_peps05n" in coverage
    assert coverage.count("<tr><td>") >= 20


REPORT_SECTIONS = {
    "employment_rate": "Employment rate",
    "unemployment_rate": "Unemployment rate",
    "cities": "Cities",
    "funding": "Funding per city",
    "coverage": "What the catalogue holds, and what is missing",
}


def test_report_renders_every_section_in_headless_chromium(report: tuple[Path, str]) -> None:
    from playwright.sync_api import sync_playwright

    path, _ = report
    screenshot = Settings.from_env().local_dir / "report" / "report.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    loaded: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options())
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: loaded.append(request.url))
            page.goto(path.as_uri(), wait_until="load")
            title = page.title()
            sections = page.eval_on_selector_all(
                "section",
                """sections => sections.map(s => ({id: s.id, heading: s.querySelector('h2').innerText,
                    height: s.getBoundingClientRect().height, tables: s.querySelectorAll('table tbody tr').length}))""",
            )
            links = page.eval_on_selector_all("nav a", "links => links.map(a => a.getAttribute('href'))")
            spark = page.locator("#employment_rate svg.spark").first.bounding_box()
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert loaded == [path.as_uri()]  # one offline page: no script, style sheet, font or image fetched
    assert title == "Integrating Cities Observatory: integration gaps and funding"
    by_id = {section["id"]: section for section in sections}
    assert links == [f"#{section['id']}" for section in sections]  # the navigation names every section, in order
    for section_id, heading in REPORT_SECTIONS.items():
        assert by_id[section_id]["heading"].startswith(heading), section_id
        assert by_id[section_id]["height"] > 100 and by_id[section_id]["tables"] > 0, section_id
    assert spark is not None and spark["width"] > 50 and spark["height"] > 20  # the sparklines are drawn
    assert screenshot.stat().st_size > 50_000
