"""`make report` in a real browser: the static report (the marts built by test_report_and_docs' fixtures) opened
in headless Chromium (Debian's chromium driven by Playwright): it renders, every section the navigation names is
there with its heading and its charts drawn, no console error, nothing loaded but the page itself; a screenshot
goes to ``.local/report/report.png``."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_report_and_docs as report_fixtures

from observatory.config.settings import Settings
from observatory_dev.browser import launch_options

pytestmark = pytest.mark.integration

built_marts = report_fixtures.built_marts
report = report_fixtures.report
SECTIONS = {
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
    for section_id, heading in SECTIONS.items():
        assert by_id[section_id]["heading"].startswith(heading), section_id
        assert by_id[section_id]["height"] > 100 and by_id[section_id]["tables"] > 0, section_id
    assert spark is not None and spark["width"] > 50 and spark["height"] > 20  # the sparklines are drawn
    assert screenshot.stat().st_size > 50_000
