"""feed collector: an RSS/Atom feed, then each entry's document; over localhost HTTP and from a local file."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory.collect import collect_source
from observatory.collect.http import FetchError
from observatory.config.registry import Source, load_registry
from observatory.parse.document import parse

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "fixtures" / "reports"
REPORTS = PROJECT / "sample_data" / "reports"


def feed_source(tmp_path: Path, location: str, collect: str = "") -> Source:
    registry = tmp_path / "sources.yml"
    registry.write_text(
        f"""
sources:
  briefings_feed:
    kind: reports
    format: document
    collector: feed
    description: d
    publisher: p
    suite: report_document
    {location}
    {collect}
    freshness: {{warn_after_hours: 1, error_after_hours: 2}}
"""
    )
    return load_registry(registry)["briefings_feed"]


def fetch_all(source: Source) -> list:
    """What the pipeline does: call each resource's fetch function before asking for the next resource."""
    return [fetch() for _, fetch in collect_source(source)]


@pytest.fixture()
def served_atom_feed(httpserver) -> str:
    httpserver.expect_request("/news/briefings.atom").respond_with_data(
        (FIXTURES / "briefings.atom").read_bytes(), content_type="application/xml"
    )
    httpserver.expect_request("/news/briefings/housing.pdf").respond_with_data(
        b"%PDF-1.4 housing briefing", content_type="application/pdf"
    )
    httpserver.expect_request("/news/briefings/language-cafes.html").respond_with_data(
        "<html><body><main><p>Language cafés opened in Ghent.</p></main></body></html>",
        content_type="text/html; charset=utf-8",
    )
    return httpserver.url_for("/news/briefings.atom")


def test_atom_feed_over_http_yields_the_feed_then_each_entry_document_once(tmp_path, served_atom_feed) -> None:
    base = served_atom_feed.rsplit("/", 1)[0]
    source = feed_source(tmp_path, f'urls: ["{served_atom_feed}"]')
    assert [resource for resource, _ in collect_source(source)] == [
        served_atom_feed,
        f"{base}/briefings/housing.pdf",  # the PDF enclosure wins over the entry's HTML link
        f"{base}/briefings/language-cafes.html",  # linked by two entries, fetched once
    ]  # the mailto: link and the entry without a link are skipped
    feed, pdf, page = fetch_all(source)
    assert (feed.media_type, feed.http_status) == ("application/atom+xml", 200)
    assert feed.payload == (FIXTURES / "briefings.atom").read_bytes()
    assert (pdf.resource_name, pdf.media_type, pdf.payload) == (
        "housing.pdf",
        "application/pdf",
        b"%PDF-1.4 housing briefing",
    )
    assert page.media_type == "text/html"


def test_max_entries_keeps_the_first_entries(tmp_path, served_atom_feed) -> None:
    source = feed_source(tmp_path, f'urls: ["{served_atom_feed}"]', "collect: {max_entries: 1}")
    assert [fetched.resource_name for fetched in fetch_all(source)] == ["briefings.atom", "housing.pdf"]


def test_local_rss_feed_links_local_files_relative_to_the_feed(tmp_path) -> None:
    source = feed_source(tmp_path, 'paths: ["sample_data/reports/city_network_updates.rss"]')
    feed, *documents = fetch_all(source)
    assert (feed.resource, feed.media_type) == ("sample_data/reports/city_network_updates.rss", "application/rss+xml")
    assert [document.resource for document in documents] == [
        "sample_data/reports/mc2cm_days_2021_concept_note.txt",
        "sample_data/reports/ec_action_plan_integration_2021_2027_slides.txt",
        "sample_data/reports/eurocities_wg_migration_update_2019.txt",
    ]
    assert documents[2].payload == (REPORTS / "eurocities_wg_migration_update_2019.txt").read_bytes()
    assert documents[2].media_type == "text/plain"


def test_remote_feed_may_not_link_local_files(tmp_path, httpserver) -> None:
    httpserver.expect_request("/feed.rss").respond_with_data(
        b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
        <item><title>secrets</title><link>file:///etc/passwd</link></item></channel></rss>""",
        content_type="application/rss+xml",
    )
    source = feed_source(tmp_path, f'urls: ["{httpserver.url_for("/feed.rss")}"]')
    assert [fetched.resource_name for fetched in fetch_all(source)] == ["feed.rss"]


def test_a_page_that_is_not_a_feed_fails_the_fetch(tmp_path, httpserver) -> None:
    httpserver.expect_request("/news").respond_with_data("<html><body>News</body></html>", content_type="text/html")
    source = feed_source(tmp_path, f'urls: ["{httpserver.url_for("/news")}"]')
    with pytest.raises(FetchError, match="not an RSS or Atom feed"):
        fetch_all(source)


def test_missing_linked_file_fails_with_its_url(tmp_path) -> None:
    feed = tmp_path / "feed.rss"
    feed.write_text('<rss version="2.0"><channel><title>t</title><item><link>gone.txt</link></item></channel></rss>')
    source = feed_source(tmp_path, f'paths: ["{feed}"]')
    with pytest.raises(FetchError, match=r"gone\.txt: No such file"):
        fetch_all(source)


def test_feed_source_needs_urls_or_paths(tmp_path) -> None:
    source = feed_source(tmp_path, "")
    with pytest.raises(ValueError, match="exactly one of 'urls' or 'paths'"):
        list(collect_source(source))


def test_the_document_parser_lands_no_row_for_a_feed() -> None:
    payload = (REPORTS / "city_network_updates.rss").read_bytes()
    assert (
        list(parse(payload, {"resource_name": "city_network_updates.rss", "media_type": "application/rss+xml"})) == []
    )
