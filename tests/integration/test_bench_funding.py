"""``python -m observatory_dev.bench_funding`` at a small size: the synthetic cohesion-portal records go from the
localhost SODA server to the funding marts, every stage is reported, and the last line carries the figures (no
timing is asserted: the machine is shared). Also the generator: deterministic, paged on demand, refusing what the
portal's API would answer otherwise."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import requests

from observatory.config.settings import Settings
from observatory.parse import Rejected
from observatory.parse.funding_json import parse
from observatory_dev.bench_funding import STAGES, registry_entry
from observatory_dev.generators.socrata import page_slice, record, records, serve_socrata
from observatory_dev.sample_server import QueryError

M = 5_000
SAMPLE = Settings.from_env().sample_data_dir / "funding" / "cohesiondata" / "resource" / "557j-pmg8.json"
SAMPLE_KEYS = set(json.loads(SAMPLE.read_text(encoding="utf-8"))[0])


def test_the_generator_has_the_sample_shape_and_pages_on_demand() -> None:
    first = records(0, 2_000)
    assert all(set(r) <= SAMPLE_KEYS and set(r) >= SAMPLE_KEYS - {"operation_end_date"} for r in first)
    assert all(isinstance(value, str) for r in first for value in r.values())
    assert len({r["country"] for r in first}) >= 25
    assert records(1_000, 1_003) == [record(i) for i in range(1_000, 1_003)] == first[1_000:1_003]
    assert record(7, seed=1) != record(7) and record(7, seed=1) == record(7, seed=1)
    assert page_slice([("$order", ":id"), ("$limit", "100"), ("$offset", "4950")], M) == (4950, 5000)
    assert page_slice([("$offset", "6000")], M) == (5000, 5000)
    for query in ([("country", "Italy")], [("$where", "x")], [("$order", "amount")], [("$limit", "100000")]):
        with pytest.raises(QueryError):
            page_slice(query, M)


def test_the_generated_pages_parse_with_the_live_entrys_options() -> None:
    entry = registry_entry("http://127.0.0.1/resource/557j-pmg8.json", 1_000)
    server, url = serve_socrata(3_000)
    try:
        answer = requests.get(url, params={"$order": ":id", "$limit": 1_000, "$offset": 2_500}, timeout=30)
        assert requests.get(url, params={"country": "Italy"}, timeout=30).status_code == 400
    finally:
        server.shutdown()
    assert [r["operation_name_english"] for r in answer.json()] == [
        r["operation_name_english"] for r in records(2_500, 3_000)
    ]
    parsed = list(parse(answer.content, entry["parse"]))
    assert not [item for item in parsed if isinstance(item, Rejected)]
    rows = [item for item in parsed if isinstance(item, tuple)]
    assert len(rows) == 500 and len({row[0] for row in rows}) == 500  # distinct operation keys
    assert len({row[11] for row in rows}) >= 25  # country_code


def test_bench_funding_reports_every_stage_and_the_summary_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "observatory_dev.bench_funding", str(M), "--page-size", "1000"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    lines = result.stdout.splitlines()
    assert re.search(
        rf"^funding: {M:,} synthetic cohesion-portal records, 6 SODA pages of 1,000", lines[0]
    )  # the last one empty
    assert f"published {M:,} rows in 28 countries (0 rejected), fct_funding {M:,} operations" in lines[0]
    for stage in STAGES:
        assert re.search(rf"^{re.escape(stage)}\s+[0-9.]+\s+[0-9,]+\s+[0-9]+$", result.stdout, flags=re.M), stage
    summary = re.fullmatch(
        r"bench_funding records=(\d+) rows_per_s=(\d+) peak_rss_mb=(\d+) end_to_end_s=([0-9.]+)", lines[-1]
    )
    assert summary, lines[-1]
    assert int(summary[1]) == M and int(summary[2]) > 0 and int(summary[3]) > 0 and float(summary[4]) > 0
