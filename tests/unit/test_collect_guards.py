"""Hostile inputs against the collection path, each with a localhost server (pytest-httpserver) where there is a
request: compression bombs, deep JSON, XML entities, slow drips, redirects out of the entry's hosts or into the
private network (SSRF), non-HTTP schemes, and clock jumps."""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import yaml
from pytest_httpserver import HTTPServer

from observatory import pipeline
from observatory.collect import collect_source
from observatory.collect.eurostat_messages import error_message
from observatory.collect.feed import fetch_feed_at
from observatory.collect.http import FetchError, FetchGuard, fetch_url, http_session
from observatory.config.registry import RegistryError, Source, load_registry
from observatory.config.settings import Settings
from observatory.parse import ParseError, parser_for
from observatory.parse.compression import decompressed, open_decompressed
from observatory.parse.json_depth import MAX_JSON_DEPTH, json_depth
from observatory_dev.faults.payloads import SOURCE_TEMPLATES, eurostat_tsv, funding_csv, jsonstat_cube
from observatory_dev.faults.server import Reply, serve

PROJECT = Path(__file__).resolve().parents[2]
TSV = eurostat_tsv()


@pytest.fixture(scope="module")
def running_server() -> Iterator[HTTPServer]:
    server = HTTPServer(threaded=True)  # one per module: stopping a threaded server takes half a second
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def server(running_server: HTTPServer) -> Iterator[HTTPServer]:
    yield running_server
    running_server.clear()


@pytest.fixture(autouse=True)
def fast_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "OBSERVATORY_HTTP_RETRIES": "1",
        "OBSERVATORY_HTTP_BACKOFF": "0.01",
        "OBSERVATORY_CONNECT_TIMEOUT": "1",
        "OBSERVATORY_READ_TIMEOUT": "1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OBSERVATORY_MIRROR_URL", raising=False)


def entry(tmp_path: Path, url: str, **fields: object) -> Source:
    """A plain-HTTP TSV entry at ``url`` (with extra registry ``fields``), through the real registry loader."""
    document = {
        "sources": {
            "guard_probe": {
                "kind": "indicators",
                "format": "eurostat_tsv",
                "description": "guard probe",
                "publisher": "tests",
                "suite": "eurostat_rates",
                "parse": {"dataset_code": "lfsa_ergan"},
                "urls": [url],
                "freshness": {"warn_after_hours": 1, "error_after_hours": 2},
                **fields,
            }
        }
    }
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return load_registry(path)["guard_probe"]


def collected(source: Source) -> list[bytes]:
    return [fetch().payload for _, fetch in collect_source(source)]


def redirect(location: str, status: int = 302) -> Reply:
    return Reply(b"moved", status=status, headers={"Location": location})


# --- compression bombs ---------------------------------------------------------------------------------------

BOMB = gzip.compress(b"A,PC,AT\t70.4 b\n" * 400_000, compresslevel=9)  # ~6 MB inflated from ~20 kB
BOMB_STARTS = {  # a valid start, then one line repeated
    "eurostat_tsv": (b"freq,unit,geo\\TIME_PERIOD\t2023 \n", b"A,PC,AT\t70.4 b\n"),
    "sdmx_csv": (b"DATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE,OBS_STATUS\n", b"ESTAT:X(1.0),A,AT,2020,1,\n"),
    "funding_csv": (funding_csv(), funding_csv().splitlines(keepends=True)[1]),
}


@pytest.mark.parametrize("format_name", sorted(BOMB_STARTS))
def test_a_gzip_bomb_is_cut_off_at_the_cap_by_the_streaming_parsers(
    format_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The landed file is small; the parsers gunzip it as they read it and stop at the decompressed-size cap."""
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", "1000000")
    start, line = BOMB_STARTS[format_name]
    landed = tmp_path / "bomb"
    landed.write_bytes(gzip.compress(start + line * (2_000_000 // len(line)), compresslevel=9))
    assert landed.stat().st_size < 100_000
    options = {"dataset_code": "lfsa_ergan", **SOURCE_TEMPLATES["funding_csv"]["parse"]}
    with pytest.raises(ParseError, match="decompresses to more than 1000000 bytes"):
        list(parser_for(format_name).parse_file(landed, options))


def test_a_gzip_bomb_is_cut_off_when_read_at_once_or_as_a_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", "1000000")
    with pytest.raises(ParseError, match="decompresses to more than 1000000 bytes"):
        decompressed(BOMB)
    with pytest.raises(ParseError, match="decompresses to more than 1000000 bytes"):
        open_decompressed(io.BytesIO(BOMB)).read()
    with pytest.raises(ParseError, match="decompresses to more than 1000000 bytes"):
        list(parser_for("jsonstat").parse(gzip.compress(b"[" + b"0," * 1_000_000 + b"0]"), {}))


def test_a_bomb_sent_with_content_encoding_is_cut_off_while_downloading(
    server: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSERVATORY_MAX_DOWNLOAD_BYTES", "1000000")
    serve(server, "/x.tsv", [Reply(BOMB, headers={"Content-Encoding": "gzip"})])
    with pytest.raises(FetchError, match="body is over the cap of 1000000 bytes"):
        collected(entry(tmp_path, server.url_for("/x.tsv")))


# --- deep JSON -----------------------------------------------------------------------------------------------

DEEP = b'{"version": "2.0", "class": "dataset", "extension": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[{{{\\"]]]"}]}') == 3
    assert json_depth(jsonstat_cube()) == 5
    assert json_depth(b"[" * 5000 + b"]" * 5000) == 5000


def test_deep_json_stat_is_refused_with_the_cap_as_the_reason() -> None:
    reason = f"JSON-stat: JSON nested 100001 levels deep, deeper than the cap of {MAX_JSON_DEPTH}"
    with pytest.raises(ParseError, match=reason):
        list(parser_for("jsonstat").parse(DEEP, {"dataset_code": "x"}))


def test_deep_funding_json_is_refused_with_the_cap_as_the_reason() -> None:
    options = {"fields": {"beneficiary_name": "name"}, "currency": "EUR", "country_code": "IT"}
    with pytest.raises(ParseError, match="nested 100002 levels deep, deeper than the cap"):
        list(parser_for("funding_json").parse(b'[{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]", options))
    assert len(list(parser_for("funding_json").parse('[{"name": "Kiezküche"}]'.encode(), options))) == 1


def test_a_deep_soda_page_fails_its_fetch(server: HTTPServer, tmp_path: Path) -> None:
    deep_page = b"[" * 50_000 + b"]" * 50_000
    serve(server, "/resource/x.json", [Reply(deep_page, headers={"Content-Type": "application/json"})])
    source = entry(
        tmp_path,
        server.url_for("/resource/x.json"),
        collector="paged",
        format="funding_json",
        kind="funding",
        suite="funding_operation",
        collect={"paging": "offset", "page_size": 10},
        parse={"fields": {"beneficiary_name": "name"}},
    )
    with pytest.raises(FetchError, match="not a JSON page: JSON nested 50000 levels deep"):
        collected(source)


def test_a_deep_eurostat_error_body_is_not_read() -> None:
    assert error_message(b'{"error": [{"label": "Dataset not found"}]}') is not None
    assert error_message(b'{"error": ' + b"[" * 20_000 + b"]" * 20_000 + b"}") is None


# --- XML entities --------------------------------------------------------------------------------------------

XXE_FEED = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<rss version="2.0"><channel><title>&xxe;</title>'
    b"<item><title>x</title><link>http://127.0.0.1/report.txt</link></item></channel></rss>"
)
LAUGHS_ATOM = (
    b'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n<feed xmlns="http://www.w3.org/2005/Atom"><title>&c;</title>'
    b"<entry><title>&c;</title><link href='http://127.0.0.1/r.txt'/></entry></feed>"
)


@pytest.mark.parametrize("feed", [XXE_FEED, LAUGHS_ATOM], ids=["external_entity", "entity_expansion"])
def test_a_feed_declaring_entities_is_refused_without_expanding(server: HTTPServer, feed: bytes) -> None:
    serve(server, "/news.rss", [Reply(feed, headers={"Content-Type": "application/rss+xml"})])
    with http_session() as session, pytest.raises(FetchError, match="feed refused, it declares XML entities"):
        fetch_feed_at(session, server.url_for("/news.rss"), PROJECT)


def test_a_eurostat_xml_error_body_with_entities_is_not_expanded() -> None:
    assert error_message(XXE_FEED) is None and error_message(LAUGHS_ATOM) is None


# --- slow drip -----------------------------------------------------------------------------------------------


def test_the_entry_deadline_stops_a_dripping_body(server: HTTPServer, tmp_path: Path) -> None:
    """One byte every 50 ms, well within the 1 s read timeout; the entry's 0.4 s deadline ends it."""
    serve(server, "/x.tsv", [Reply(TSV, drip=0.05)])
    with pytest.raises(FetchError, match=r"body not complete within 0\.4 s"):
        collected(entry(tmp_path, server.url_for("/x.tsv"), download_deadline_seconds=0.4))


def test_the_deadline_counts_from_the_request_across_redirects(server: HTTPServer, monkeypatch) -> None:
    monkeypatch.setenv("OBSERVATORY_DOWNLOAD_DEADLINE", "0.6")
    serve(server, "/old.tsv", [Reply(b"moved", status=302, headers={"Location": "/new.tsv"}, delay=0.4)])
    serve(server, "/new.tsv", [Reply(TSV, delay=0.4)])
    with http_session() as session, pytest.raises(FetchError, match=r"within 0\.6 s"):
        fetch_url(session, server.url_for("/old.tsv"))


# --- where requests may go (SSRF) ----------------------------------------------------------------------------


def test_a_redirect_on_the_configured_local_origin_is_followed(server: HTTPServer, tmp_path: Path) -> None:
    serve(server, "/old.tsv", [redirect("/new.tsv", 301)])
    serve(server, "/new.tsv", [Reply(TSV)])
    [fetched] = [fetch() for _, fetch in collect_source(entry(tmp_path, server.url_for("/old.tsv")))]
    assert fetched.payload == TSV and fetched.resource == server.url_for("/old.tsv")


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://data.elsewhere.example/x.tsv", r"host data\.elsewhere\.example is not one of the entry's allowed"),
        ("http://169.254.169.254/latest/meta-data/", r"link-local address 169\.254\.169\.254 is refused"),
        ("http://10.0.0.7/admin", r"private address 10\.0\.0\.7 is refused"),
        ("http://[::ffff:127.0.0.1]:9/", r"loopback address ::ffff:127\.0\.0\.1 is refused"),
        ("file:///etc/passwd", r"scheme 'file' is not allowed"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", r"scheme 'gopher' is not allowed"),
    ],
)
def test_a_redirect_out_of_the_entry_or_into_the_network_is_refused(
    server: HTTPServer, tmp_path: Path, location: str, reason: str
) -> None:
    resource = serve(server, "/x.tsv", [redirect(location)])
    with pytest.raises(FetchError, match=rf"redirected to {re.escape(location)}: {reason}"):
        collected(entry(tmp_path, server.url_for("/x.tsv")))
    assert len(resource.request_times) == 1


def test_a_redirect_to_another_port_of_this_machine_is_refused(server: HTTPServer, tmp_path: Path) -> None:
    """The configured origin is host and port: another local service (here a second server) is not reached."""
    other = HTTPServer(threaded=True)
    other.start()
    try:
        target = serve(other, "/secret", [Reply(b"internal")])
        serve(server, "/x.tsv", [redirect(f"http://127.0.0.1:{other.port}/secret")])
        with pytest.raises(FetchError, match=r"loopback address 127\.0\.0\.1 is refused"):
            collected(entry(tmp_path, server.url_for("/x.tsv").replace("localhost", "127.0.0.1")))
        serve(server, "/y.tsv", [redirect(f"http://localhost:{other.port}/secret")])
        url = server.url_for("/y.tsv").replace("localhost", "127.0.0.1")
        with pytest.raises(FetchError, match=r"localhost resolves to loopback address"):
            collected(entry(tmp_path, url, allowed_hosts=["localhost"]))
        assert target.request_times == []
        assert collected(entry(tmp_path, url, allowed_hosts=["localhost"], allow_private_network=True)) == [b"internal"]
    finally:
        other.stop()


def test_a_public_host_redirecting_into_loopback_is_refused(server: HTTPServer, tmp_path: Path, monkeypatch) -> None:
    """A live URL answered by the mirror (trusted, configured by the operator): its redirects to loopback or to
    another host are not."""
    monkeypatch.setenv("OBSERVATORY_MIRROR_URL", server.url_for("").rstrip("/"))
    serve(server, "/stats.example.org/x.tsv", [Reply(TSV)])
    serve(server, "/stats.example.org/y.tsv", [redirect("http://127.0.0.1:1/")])
    assert collected(entry(tmp_path, "https://stats.example.org/x.tsv")) == [TSV]
    with pytest.raises(FetchError, match=r"y\.tsv \(mirror .*\), redirected to http://127\.0\.0\.1:1/: loopback"):
        collected(entry(tmp_path, "https://stats.example.org/y.tsv"))
    serve(server, "/stats.example.org/z.tsv", [redirect("https://cdn.elsewhere.example/z.tsv")])
    with pytest.raises(FetchError, match=r"host cdn\.elsewhere\.example is not one of the entry's allowed hosts"):
        collected(entry(tmp_path, "https://stats.example.org/z.tsv"))


def test_a_non_http_url_is_refused_at_load_and_when_fetched(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(RegistryError, match=r"field 'urls': 'file:///etc/passwd' is not an http\(s\) URL"):
        entry(tmp_path, "file:///etc/passwd")
    monkeypatch.setenv("GUARD_PROBE_URL", "file:///etc/passwd")
    with pytest.raises(FetchError, match="scheme 'file' is not allowed"):
        collected(entry(tmp_path, "${GUARD_PROBE_URL}"))


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"allowed_hosts": "example.org"}, "allowed_hosts"),
        ({"allowed_hosts": ["https://example.org/"]}, "allowed_hosts"),
        ({"allow_private_network": "yes"}, "allow_private_network"),
        ({"download_deadline_seconds": 0}, "download_deadline_seconds"),
    ],
)
def test_bad_guard_fields_name_the_field(tmp_path: Path, fields: dict, problem: str) -> None:
    with pytest.raises(RegistryError, match=f"field '{problem}'"):
        entry(tmp_path, "https://example.org/x.tsv", **fields)


def test_the_guard_trusts_only_origins_configured_on_this_machine_or_network() -> None:
    guard = FetchGuard.for_urls(
        ["http://127.0.0.1:8000/a", "https://stats.example.org/b", "http://10.1.2.3/c"],
        allowed_hosts=["Cdn.Example.ORG"],
    )
    assert guard.allowed_hosts == {"127.0.0.1", "stats.example.org", "10.1.2.3", "cdn.example.org"}
    assert guard.local_origins == {("127.0.0.1", 8000), ("10.1.2.3", 80)}


def test_the_connected_address_is_checked_too(server: HTTPServer) -> None:
    """What DNS rebinding gets past the name check: the peer address of the connection itself."""
    serve(server, "/x.tsv", [Reply(TSV)])
    guard = FetchGuard(allowed_hosts=frozenset({"localhost"}))
    with requests.Session() as session, session.get(server.url_for("/x.tsv"), stream=True, timeout=2) as response:
        assert guard.peer_problem(session, response, server.url_for("/x.tsv")) == (
            "connected to loopback address 127.0.0.1, refused (allow_private_network is off)"
        )


# --- clock jumps ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("logical_date", "reason"),
    [
        (datetime.now(UTC) + timedelta(days=400), "is in the future"),
        (datetime(1970, 1, 1, tzinfo=UTC), "is before 2000-01-01"),
    ],
)
def test_a_clock_jump_is_refused_before_anything_is_fetched(
    server: HTTPServer, tmp_path: Path, logical_date: datetime, reason: str
) -> None:
    resource = serve(server, "/x.tsv", [Reply(TSV)])
    source = entry(tmp_path, server.url_for("/x.tsv"))
    settings = Settings.from_env().replace(registry_path=tmp_path / "sources.yml", landing_dir=tmp_path / "landing")
    with pytest.raises(pipeline.LogicalDateRefused, match=f"guard_probe: logical date .* {reason}.*nothing fetched"):
        pipeline.fetch(source.source_id, logical_date, settings)
    assert resource.request_times == [] and not (tmp_path / "landing").exists()


def test_logical_dates_within_the_tolerance_pass() -> None:
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    pipeline.check_logical_date("x", now + timedelta(minutes=59), now)
    pipeline.check_logical_date("x", datetime(2000, 1, 1, tzinfo=UTC), now)
    with pytest.raises(pipeline.LogicalDateRefused):
        pipeline.check_logical_date("x", now + timedelta(minutes=61), now)


def test_a_remote_feed_may_link_public_hosts_but_not_this_machine(
    server: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live feed (answered by the mirror) linking a document on another public host, and one on loopback."""
    monkeypatch.setenv("OBSERVATORY_MIRROR_URL", server.url_for("").rstrip("/"))
    links = b"".join(
        b"<item><title>t</title><link>%s</link></item>" % link
        for link in (b"https://docs.other.example/report.txt", b"http://127.0.0.1:1/admin.txt")
    )
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>' + links + b"</channel></rss>"
    serve(server, "/news.example.org/feed", [Reply(feed, headers={"Content-Type": "application/rss+xml"})])
    serve(server, "/docs.other.example/report.txt", [Reply(b"City report", headers={"Content-Type": "text/plain"})])
    source = entry(tmp_path, "https://news.example.org/feed", collector="feed", format="document", kind="reports")
    resources = collect_source(source)
    fetched = [fetch() for _, fetch in (next(resources), next(resources))]
    assert fetched[1].payload == b"City report"
    _, fetch_loopback = next(resources)
    with pytest.raises(FetchError, match=r"loopback address 127\.0\.0\.1 is refused"):
        fetch_loopback()
