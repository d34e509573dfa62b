"""A generated city-network calendar of 3,000 events (``observatory_dev.generators.ics``) served from 127.0.0.1
and collected by the real ``http`` collector through every pipeline step: one raw row per occurrence, the undated
events kept with their reason, nothing rejected."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml

from observatory import pipeline
from observatory.config.settings import Settings
from observatory_dev.generators.ics import WINDOW_END, WINDOW_START, write_ics
from observatory_dev.sample_server import serve_directory

pytestmark = pytest.mark.integration

SOURCE = "events_generated_network"
DAY = datetime(2026, 11, 2, tzinfo=UTC)
EVENTS = 3000


def test_a_generated_calendar_loads_one_row_per_occurrence(warehouse_dsn: str, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    truth = write_ics(served / "network.ics", EVENTS)
    server, base_url = serve_directory(served)
    try:
        document = yaml.safe_load(Settings.from_env().registry_path.read_text(encoding="utf-8"))
        entry = {**document["sources"]["events_fablab_cottbus"], "urls": [f"{base_url}/network.ics"]}
        entry["parse"] = {
            **entry["parse"],
            "window_start": WINDOW_START.isoformat(),
            "window_end": WINDOW_END.isoformat(),
        }
        document["sources"] = {SOURCE: entry}
        registry = tmp_path / "sources.yml"
        registry.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        settings = Settings.from_env().replace(registry_path=registry, landing_dir=tmp_path / "landing")
        assert pipeline.run_source(SOURCE, DAY, settings) == truth.rows
    finally:
        server.shutdown()
    with psycopg.connect(warehouse_dsn) as conn:
        counts = conn.execute(
            """select count(*), count(distinct event_uid), count(*) filter (where occurrence_start_utc is null),
                      count(distinct event_uid) filter (where is_recurring)
               from raw.calendar_event where source_id = %s""",
            (SOURCE,),
        ).fetchone()
        batch = conn.execute(
            "select status, row_count, rejected_count from audit.batch where load_id = %s",
            (pipeline.load_id_for(SOURCE, DAY),),
        ).fetchone()
    assert counts == (truth.rows, EVENTS, truth.undated, truth.recurring)
    assert batch == ("published", truth.rows, 0)
