"""A backfill and the scheduled run of one interval: the run whose fetch came first never stages over the later
one (``pipeline.BatchSuperseded``), and refusing it leaves the later run's published batch as it is."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg.rows import dict_row
from pytest_httpserver import HTTPServer

from observatory import pipeline
from observatory.config.settings import Settings
from observatory_dev.faults.payloads import SOURCE_TEMPLATES, TSV, eurostat_tsv
from observatory_dev.faults.server import Reply, serve

pytestmark = pytest.mark.integration

SOURCE = "backfill_race"
DAY = datetime(2026, 5, 2, tzinfo=UTC)
EARLIER, LATER = eurostat_tsv(version=2), eurostat_tsv(version=3)


def test_the_earlier_fetch_of_an_interval_is_not_staged_over_the_later(
    warehouse_dsn: str, httpserver: HTTPServer, tmp_path: Path
) -> None:
    serve(httpserver, "/lfsa_ergan.tsv", [Reply(EARLIER, headers=TSV), Reply(LATER, headers=TSV)])
    entry = {
        **SOURCE_TEMPLATES["eurostat_tsv"],
        "format": "eurostat_tsv",
        "urls": [httpserver.url_for("/lfsa_ergan.tsv")],
        "description": "a source fetched by a backfill and by the scheduled run",
        "publisher": "tests",
        "freshness": {"warn_after_hours": 48, "error_after_hours": 168},
    }
    (tmp_path / "sources.yml").write_text(yaml.safe_dump({"sources": {SOURCE: entry}}), encoding="utf-8")
    settings = Settings.from_env().replace(registry_path=tmp_path / "sources.yml", landing_dir=tmp_path / "landing")
    load_id = pipeline.load_id_for(SOURCE, DAY)

    backfill = pipeline.fetch(SOURCE, DAY, settings)  # the backfill fetches first ...
    scheduled = pipeline.fetch(SOURCE, DAY, settings)  # ... the scheduled run later, and publishes first
    published = pipeline.stage(SOURCE, load_id, scheduled, settings)
    assert pipeline.publish(SOURCE, load_id, settings) == published > 0

    with pytest.raises(pipeline.BatchSuperseded, match=rf"{load_id}: fetched again by another run after this one"):
        pipeline.stage(SOURCE, load_id, backfill, settings)

    with psycopg.connect(warehouse_dsn, row_factory=dict_row) as conn:
        batch = conn.execute("select * from audit.batch where load_id = %s", (load_id,)).fetchone()
        rows = conn.execute("select count(*) as n from raw.eurostat_observation where source_id = %s", (SOURCE,))
        stage_left = conn.execute("select to_regclass(%s) as t", (f'stage."{load_id}"',)).fetchone()
        assert (rows.fetchone() or {})["n"] == published
    assert batch is not None and (batch["status"], batch["row_count"]) == ("published", published)
    assert batch["content_sha256"] == [hashlib.sha256(LATER).hexdigest()]
    assert stage_left == {"t": None}  # the refused run staged nothing
