"""Every live registry entry is answered by the localhost mirror and its answer parses.

Entries whose real answer is bundled (sample_data/mirror/index.yml) get that real file; for the others this test
builds an answer in the publisher's shape from the entry's own request and options (JSON-stat 2.0 of Eurostat's
Statistics API, SDMX-CSV 2.0 of SDMX 3.0, a Socrata SODA page, a CSV export with the entry's columns, an RSS 2.0
feed and the page its item links to), in a temporary mirror: those answers exist in the tests only, never in the
demo's marts.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from observatory.collect import collect_source, planned_resources
from observatory.config.registry import ALL_PROFILES, load_registry
from observatory.parse import Note, Rejected, parser_for
from observatory.parse.compression import decompressed
from observatory_dev.sample_server import MIRROR_INDEX, serve_directory

PROJECT = Path(__file__).resolve().parents[2]
LIVE = load_registry(PROJECT / "sources.yml", profile="live")
REAL_INDEX = yaml.safe_load((PROJECT / "sample_data" / MIRROR_INDEX).read_text(encoding="utf-8"))
GEOS = {"nuts2": ["DE11", "FR10"], "city": ["DE002C", "FR001C"], "country": ["DE", "FR"]}


def statistics_answer(url: str) -> bytes:
    """A Statistics API answer (JSON-stat 2.0, sparse value/status objects, Eurostat's extension) to ``url``."""
    parts = urlsplit(url)
    dataset = parts.path.rsplit("/", 1)[-1]
    query = parse_qsl(parts.query)
    level = dict(query).get("geoLevel", "country")
    dimensions: dict[str, list[str]] = {"freq": ["A"]}
    for name, code in query:
        if name not in ("format", "lang", "sinceTimePeriod", "untilTimePeriod", "geoLevel"):
            dimensions.setdefault(name, []).append(code)
    dimensions["geo"] = GEOS[level]
    dimensions["time"] = ["2022", "2023"]
    sizes = [len(codes) for codes in dimensions.values()]
    cells = 1
    for size in sizes:
        cells *= size
    document = {
        "version": "2.0",
        "class": "dataset",
        "label": f"{dataset} (answer built by the test)",
        "source": "ESTAT",
        "updated": "2026-11-20T23:00:00+0100",
        "value": {str(index): round(40 + index % 37 * 1.5, 1) for index in range(cells) if index % 5 != 4},
        "status": {"0": "b"},
        "id": list(dimensions),
        "size": sizes,
        "dimension": {
            name: {
                "label": name,
                "category": {
                    "index": {code: position for position, code in enumerate(codes)},
                    "label": {code: code for code in codes},
                },
            }
            for name, codes in dimensions.items()
        },
        "extension": {
            "lang": "EN",
            "id": dataset.upper(),
            "agencyId": "ESTAT",
            "version": "1.0",
            "datastructure": {"id": dataset.upper(), "agencyId": "ESTAT", "version": "1.0"},
            "annotation": [],
            "positions-with-no-data": {},
            "status": {"label": {"b": "break in time series"}},
        },
    }
    return json.dumps(document).encode()


def sdmx3_answer(url: str) -> bytes:
    """An SDMX 3.0 answer in SDMX-CSV 2.0 with labels to ``url`` (a city dataset: dimension ``cities``)."""
    parts = urlsplit(url)
    dataset = parts.path.split("/")[-2]
    codes = dict(parse_qsl(parts.query))["c[indic_ur]"].split(",")
    header = (
        "STRUCTURE,STRUCTURE_ID,STRUCTURE_NAME,freq,Time frequency,indic_ur,Urban audit indicator,cities,"
        "Geopolitical entity (declaring),TIME_PERIOD,Time,OBS_VALUE,Observation value,OBS_FLAG,"
        "Observation status (Flag) V2 structure,CONF_STATUS,Confidentiality status (flag)"
    )
    lines = [header]
    for number, (code, city, year) in enumerate(
        (code, city, year) for code in codes for city in GEOS["city"] for year in ("2022", "2023")
    ):
        lines.append(
            f"dataflow,ESTAT:{dataset.upper()}(1.0),{dataset},A,Annual,{code},{code},{city},{city},{year},,"
            f"{100000 + number * 1000}.0,,,,,"
        )
    return ("\n".join(lines) + "\n").encode()


# A value per logical funding column, as the lists publish them (dates in the entry's date_format)
FUNDING_VALUES = {
    "beneficiary_name": "Comune di Milano",
    "operation_title": "Servizi di integrazione per cittadini di paesi terzi",
    "operation_summary": "Language courses and job counselling for third-country nationals",
    "amount": "125000.00",
    "cofinancing_rate": "50",
    "fund": "ERDF",
    "location_code": "ITC4C",
    "location_name": "Lombardia",
    "programme": "PON Metro Plus e Citta Medie Sud 2021-2027",
    "theme": "Social inclusion",
}
FEED_ITEM = "https://news.example.org/latest/cities-welcome-newcomers/"  # a link of the built feed: a reserved domain
ITEM_PAGE = b"""<!DOCTYPE html><html lang="en"><head><title>Cities welcome newcomers</title></head><body><article>
<h1>Cities welcome newcomers</h1><p>On 24 November 2026 the mayors of Milan, Vienna and Ghent met in Brussels to
discuss the integration of migrants and refugees in cities.</p></article></body></html>"""


def funding_record(source, number: int) -> dict[str, str]:
    """One operation keyed by the entry's published field or column names."""
    mapping = source.parse.get("fields") or source.parse.get("columns")
    date_format = source.parse.get("date_format", "%Y-%m-%d")
    values = {
        **FUNDING_VALUES,
        "start_date": datetime(2022, 3, number).strftime(date_format),
        "end_date": datetime(2025, 12, number).strftime(date_format),
    }
    return {published: values[logical] for logical, published in mapping.items()}


def csv_export_answer(source) -> bytes:
    """A CSV export with the entry's columns and two operations."""
    records = [funding_record(source, number) for number in (1, 2)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]))
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


def rss_answer(url: str) -> bytes:
    """An RSS 2.0 feed (WordPress's shape) with one item linking to FEED_ITEM."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Eurocities</title><link>{url}</link><description>News</description>
<item><title>Cities welcome newcomers</title><link>{FEED_ITEM}</link>
<pubDate>Tue, 24 Nov 2026 09:00:00 +0000</pubDate><description>Cities report on integration.</description></item>
</channel></rss>""".encode()


def built_answers(source, url: str) -> list[tuple[str, bytes, str]]:
    """(URL, body, content type) answering the entry's first resource, and what it links to."""
    if source.collector == "eurostat":
        if source.collect.get("api", "statistics") == "statistics":
            return [(url, statistics_answer(url), "application/json")]
        return [(url, sdmx3_answer(url), "text/csv")]
    if source.collector == "paged":  # a SODA page of two records: fewer than a page, so paging stops
        return [(url, json.dumps([funding_record(source, n) for n in (1, 2)]).encode(), "application/json")]
    if source.collector == "feed":
        return [(url, rss_answer(url), "application/rss+xml"), (FEED_ITEM, ITEM_PAGE, "text/html")]
    return [(url, csv_export_answer(source), "text/csv")]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> str:
    """A mirror of every live entry's first resources: the bundled real answers, then answers built here."""
    directory = tmp_path_factory.mktemp("live_mirror")
    shutil.copytree(PROJECT / "sample_data", directory, dirs_exist_ok=True)
    real = {entry["url"] for entry in REAL_INDEX}
    built = []
    for source in LIVE.sources.values():
        (url,), _ = planned_resources(source)
        if url in real:
            continue
        for number, (answered, body, content_type) in enumerate(built_answers(source, url)):
            name = f"built/{source.source_id}.{number}"
            (directory / "built").mkdir(exist_ok=True)
            (directory / name).write_bytes(body)
            built.append({"url": answered, "file": name, "content_type": content_type})
    (directory / MIRROR_INDEX).write_text(yaml.safe_dump(REAL_INDEX + built, sort_keys=False), encoding="utf-8")
    server, base_url = serve_directory(directory)
    yield base_url
    server.shutdown()


@pytest.mark.parametrize("source", LIVE.sources.values(), ids=lambda source: source.source_id)
def test_every_live_entry_is_answered_by_the_mirror_and_parses(source, mirror, warehouse_dsn, monkeypatch) -> None:
    monkeypatch.setenv("OBSERVATORY_MIRROR_URL", mirror)
    rows = 0
    for resource, fetch in collect_source(source):
        fetched = fetch()
        assert fetched.resource == resource and resource.startswith("https://")
        payload = decompressed(fetched.payload)
        options = {**source.parse, "resource_name": fetched.resource_name, "media_type": fetched.media_type}
        parsed = list(parser_for(source.format).parse(payload, options))  # the options the pipeline passes
        rows += sum(1 for item in parsed if not isinstance(item, (Rejected, Note)))
        assert not [item for item in parsed if isinstance(item, Rejected)], resource
    assert rows > 0, f"{source.source_id}: the mirror's answer parsed to no rows"


def test_every_bundled_mirror_answer_is_what_a_registry_entry_requests() -> None:
    requested = {
        planned_resources(source)[0][0]
        for source in load_registry(PROJECT / "sources.yml", profile=ALL_PROFILES).sources.values()
        if source.collector == "eurostat"
    }
    assert {entry["url"] for entry in REAL_INDEX} <= requested
