"""A download far larger than the memory the pipeline uses for it: ``fetch`` spools it into the landing zone as it
arrives (never holding the body), ``stage`` streams every row from the landed file."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import psycopg
import yaml
from pytest_httpserver import HTTPServer
from werkzeug import Response

from observatory import pipeline
from observatory.config.settings import Settings
from observatory.landing import PARTIAL_DIR

T = TypeVar("T")

DAY = datetime(2026, 6, 1, tzinfo=UTC)
HEADER = b"freq,unit,geo\\TIME_PERIOD\t2023 \t2024 \n"
BLOCK = b"".join(b"A,%s%04d,AT\t61.5 b\t:\n" % (b"U" * 400, i) for i in range(1000))  # 1000 lines, ~0.4 MB
BLOCKS = 110  # ~45 MB, 110 000 rows


def _peak(step: Callable[[], T]) -> tuple[T, int]:
    """What ``step`` returns, and the tracemalloc peak (bytes) while it ran."""
    tracemalloc.start()
    try:
        return step(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_download_is_landed_and_staged_streaming(warehouse_dsn, httpserver: HTTPServer, tmp_path) -> None:
    size = len(HEADER) + len(BLOCK) * BLOCKS
    httpserver.expect_request("/big.tsv").respond_with_handler(
        lambda request: Response(
            (HEADER, *(BLOCK for _ in range(BLOCKS))), headers={"Content-Length": str(size)}
        )  # the server allocates nothing per block
    )
    registry = tmp_path / "sources.yml"
    entry = {
        "kind": "indicators",
        "format": "eurostat_tsv",
        "description": "a large TSV served from localhost",
        "publisher": "tests",
        "suite": "eurostat_rates",
        "urls": [httpserver.url_for("/big.tsv")],
        "parse": {"dataset_code": "big_tsv"},
        "freshness": {"warn_after_hours": 1, "error_after_hours": 2},
    }
    registry.write_text(yaml.safe_dump({"sources": {"big_tsv": entry}}))
    landing = tmp_path / "landing"
    settings = Settings.from_env().replace(registry_path=registry, landing_dir=landing)

    [landed], fetch_peak = _peak(lambda: pipeline.fetch("big_tsv", DAY, settings))
    load_id = pipeline.load_id_for("big_tsv", DAY)
    rows, stage_peak = _peak(lambda: pipeline.stage("big_tsv", load_id, [landed], settings))
    print(
        f"{size / 2**20:.1f} MiB download: tracemalloc peak {fetch_peak / 2**20:.2f} MiB in pipeline.fetch, "
        f"{stage_peak / 2**20:.2f} MiB in pipeline.stage ({rows} rows)"
    )
    assert size > 45_000_000 and fetch_peak < size / 4 and stage_peak < size / 4  # never the body (0.3-10 MiB seen)
    assert rows == 1000 * BLOCKS

    digest = hashlib.sha256(HEADER + BLOCK * BLOCKS).hexdigest()
    kept = landing / "big_tsv" / digest[:2] / digest
    assert landed["content_sha256"] == digest and kept.stat().st_size == size
    assert list((landing / PARTIAL_DIR).iterdir()) == []
    with psycopg.connect(warehouse_dsn) as conn:
        logged = conn.execute(
            "select byte_count, content_sha256, landing_path from audit.fetch_log where load_id = %s", (load_id,)
        ).fetchone()
        staged = conn.execute(f'select count(*), min(value), max(value) from stage."{load_id}"').fetchone()
    assert logged == (size, digest, f"big_tsv/{digest[:2]}/{digest}")
    assert staged == (1000 * BLOCKS, 61.5, 61.5)
