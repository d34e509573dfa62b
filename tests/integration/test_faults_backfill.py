"""A backfill and the scheduled run of one interval: the run whose fetch came first never stages or publishes over
the later one (``pipeline.BatchSuperseded``), whenever the later fetch lands (before its stage, while it stages,
between its stage and its publish), and refusing it leaves the later run's batch to publish."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
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


def settings_for(httpserver: HTTPServer, tmp_path: Path, source_id: str) -> Settings:
    """A TSV source ``source_id`` served by ``httpserver``: its first answer EARLIER, its second LATER."""
    serve(httpserver, "/lfsa_ergan.tsv", [Reply(EARLIER, headers=TSV), Reply(LATER, headers=TSV)])
    entry = {
        **SOURCE_TEMPLATES["eurostat_tsv"],
        "format": "eurostat_tsv",
        "urls": [httpserver.url_for("/lfsa_ergan.tsv")],
        "description": "a source fetched by a backfill and by the scheduled run",
        "publisher": "tests",
        "freshness": {"warn_after_hours": 48, "error_after_hours": 168},
    }
    (tmp_path / "sources.yml").write_text(yaml.safe_dump({"sources": {source_id: entry}}), encoding="utf-8")
    return Settings.from_env().replace(registry_path=tmp_path / "sources.yml", landing_dir=tmp_path / "landing")


def batch_and_rows(dsn: str, source_id: str) -> tuple[dict, int, dict]:
    """The interval's batch, the source's raw row count, and whether a stage table is left."""
    load_id = pipeline.load_id_for(source_id, DAY)
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        batch = conn.execute("select * from audit.batch where load_id = %s", (load_id,)).fetchone()
        rows = conn.execute("select count(*) as n from raw.eurostat_observation where source_id = %s", (source_id,))
        stage_left = conn.execute("select to_regclass(%s) as t", (f'stage."{load_id}"',)).fetchone()
        assert batch is not None and stage_left is not None
        return batch, (rows.fetchone() or {})["n"], stage_left


def test_the_earlier_fetch_of_an_interval_is_not_staged_over_the_later(
    warehouse_dsn: str, httpserver: HTTPServer, tmp_path: Path
) -> None:
    settings = settings_for(httpserver, tmp_path, SOURCE)
    load_id = pipeline.load_id_for(SOURCE, DAY)

    backfill = pipeline.fetch(SOURCE, DAY, settings)  # the backfill fetches first ...
    scheduled = pipeline.fetch(SOURCE, DAY, settings)  # ... the scheduled run later, and publishes first
    published = pipeline.stage(SOURCE, load_id, scheduled, settings)
    assert pipeline.publish(SOURCE, load_id, settings) == published > 0

    with pytest.raises(pipeline.BatchSuperseded, match=rf"{load_id}: fetched again by another run after this one"):
        pipeline.stage(SOURCE, load_id, backfill, settings)

    batch, rows, stage_left = batch_and_rows(warehouse_dsn, SOURCE)
    assert (batch["status"], batch["row_count"], rows) == ("published", published, published)
    assert batch["content_sha256"] == [hashlib.sha256(LATER).hexdigest()]
    assert stage_left == {"t": None}  # the refused run staged nothing


def test_a_fetch_between_the_earlier_runs_stage_and_publish_wins(
    warehouse_dsn: str, httpserver: HTTPServer, tmp_path: Path
) -> None:
    source = f"{SOURCE}_between"
    settings = settings_for(httpserver, tmp_path, source)
    load_id = pipeline.load_id_for(source, DAY)
    backfill = pipeline.fetch(source, DAY, settings)
    pipeline.stage(source, load_id, backfill, settings)
    scheduled = pipeline.fetch(source, DAY, settings)  # lands after the backfill staged, before it publishes
    with pytest.raises(
        pipeline.BatchSuperseded, match=rf"{load_id}: fetched again by another run after this one staged"
    ):
        pipeline.publish(source, load_id, settings)
    batch, rows, _ = batch_and_rows(warehouse_dsn, source)
    assert (batch["status"], rows) == ("fetched", 0)  # nothing of the backfill was published
    published = pipeline.stage(source, load_id, scheduled, settings)
    assert pipeline.publish(source, load_id, settings) == published > 0
    batch, rows, stage_left = batch_and_rows(warehouse_dsn, source)
    assert (batch["status"], rows, stage_left["t"]) == ("published", published, None)
    assert batch["content_sha256"] == [hashlib.sha256(LATER).hexdigest()]


def test_a_fetch_while_the_earlier_run_stages_wins(
    warehouse_dsn: str, httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = f"{SOURCE}_while"
    settings = settings_for(httpserver, tmp_path, source)
    load_id = pipeline.load_id_for(source, DAY)
    backfill = pipeline.fetch(source, DAY, settings)
    parsed, resume = threading.Event(), threading.Event()
    landed_files = pipeline._landed_files

    def then_wait(*args: object, **kwargs: object) -> Iterator:
        """The landed files as the pipeline reads them; once all are parsed and copied, wait (the window)."""
        yield from landed_files(*args, **kwargs)  # type: ignore[arg-type]
        parsed.set()
        assert resume.wait(60)

    monkeypatch.setattr(pipeline, "_landed_files", then_wait)
    outcome: dict[str, BaseException] = {}

    def stage_backfill() -> None:
        try:
            pipeline.stage(source, load_id, backfill, settings)
        except BaseException as exc:  # noqa: BLE001 - the assertion below reads it
            outcome["error"] = exc

    staging = threading.Thread(target=stage_backfill)
    staging.start()
    assert parsed.wait(60)
    scheduled = pipeline.fetch(source, DAY, settings)  # commits while the backfill's stage is under way
    resume.set()
    staging.join(60)
    monkeypatch.undo()
    assert isinstance(outcome.get("error"), pipeline.BatchSuperseded), outcome
    assert f"{load_id}: fetched again by another run while this one staged" in str(outcome["error"])
    batch, rows, stage_left = batch_and_rows(warehouse_dsn, source)
    assert (batch["status"], rows, stage_left["t"]) == ("fetched", 0, None)  # the backfill's stage rolled back
    published = pipeline.stage(source, load_id, scheduled, settings)
    assert pipeline.publish(source, load_id, settings) == published > 0
    assert batch_and_rows(warehouse_dsn, source)[0]["content_sha256"] == [hashlib.sha256(LATER).hexdigest()]
