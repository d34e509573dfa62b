"""A real-shaped beneficiary list with one record the parser cannot read, through the whole pipeline: the record
is kept in audit.rejected_record with its reason and raw line, the batch counts it, the rest publishes when the
entry tolerates it, and the batch is quarantined when the share is above the entry's max_rejected_share."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml

from observatory import pipeline
from observatory.config.registry import load_registry
from observatory.config.settings import Settings
from observatory.parse import funding_csv
from observatory.quality.gate import QualityGateFailed
from observatory.quality.health import write_daily_summary

PROJECT = Path(__file__).resolve().parents[2]
BERLIN = PROJECT / "sample_data" / "funding" / "esf_berlin_shape.csv"
DAY = datetime(2026, 5, 1, tzinfo=UTC)


def settings_for(tmp_path: Path, **entry: object) -> Settings:
    """The demo's ESF Berlin entry on a copy of its list in which one amount is written in words."""
    broken = tmp_path / "esf_berlin_one_bad_amount.csv"
    text = BERLIN.read_text(encoding="utf-8")
    assert text.count('"4.250,50 €"') == 1
    broken.write_text(text.replace('"4.250,50 €"', '"vier Tausend €"'), encoding="utf-8")
    berlin = load_registry(PROJECT / "sources.yml")["funding_esf_berlin"]
    registry = tmp_path / "sources.yml"
    registry.write_text(
        yaml.safe_dump(
            {
                "sources": {
                    "funding_berlin_test": {
                        "kind": "funding",
                        "format": "funding_csv",
                        "description": "ESF Berlin list shape, one unreadable amount",
                        "publisher": "test",
                        "suite": "funding_operation",
                        "paths": [str(broken)],
                        "parse": berlin.parse,
                        "freshness": {"warn_after_hours": 1, "error_after_hours": 2},
                        **entry,
                    }
                }
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    return Settings.from_env().replace(registry_path=registry, landing_dir=tmp_path / "landing")


def state(dsn: str, load_id: str) -> tuple:
    with psycopg.connect(dsn) as conn:
        batch = conn.execute(
            "select status, row_count, rejected_count, message from audit.batch where load_id = %s", (load_id,)
        ).fetchone()
        rejected = conn.execute(
            "select location, reason, raw_record from audit.rejected_record where load_id = %s", (load_id,)
        ).fetchall()
        published = conn.execute(
            "select count(*) from raw.funding_operation where source_id = 'funding_berlin_test'"
        ).fetchone()[0]
    return batch, rejected, published


def test_a_tolerant_entry_publishes_the_rest_and_keeps_the_rejected_record(warehouse_dsn, tmp_path) -> None:
    settings = settings_for(tmp_path, max_rejected_share=0.2)
    published = pipeline.run_source("funding_berlin_test", DAY, settings)
    (status, rows, rejected_count, _), rejected, in_raw = state(
        warehouse_dsn, pipeline.load_id_for("funding_berlin_test", DAY)
    )
    berlin = load_registry(PROJECT / "sources.yml")["funding_esf_berlin"]
    records = [row for row in funding_csv.parse(BERLIN.read_bytes(), berlin.parse) if isinstance(row, tuple)]
    assert (status, rejected_count) == ("published", 1)
    assert published == rows == in_raw == len(records) - 1
    [(location, reason, raw)] = rejected
    assert location == "line 26" and "vier Tausend €" in reason and raw.startswith("LernLotsen Berlin GmbH,")
    with psycopg.connect(warehouse_dsn) as conn:
        [health] = [
            row
            for row in write_daily_summary(conn, DAY.date(), load_registry(settings=settings))
            if row["source_id"] == "funding_berlin_test"
        ]
    assert health["rejected_last_batch"] == 1


def test_the_default_share_quarantines_a_list_that_rejects_one_record_in_eight(warehouse_dsn, tmp_path) -> None:
    """funding's default max_rejected_share is 5%: 1 rejected record of a short list is more, so the batch waits
    in quarantine with the reason, and nothing of it is published."""
    settings = settings_for(tmp_path)
    later = datetime(2026, 5, 2, tzinfo=UTC)
    with pytest.raises(
        QualityGateFailed, match=r"1 of \d+ records rejected .* max_rejected_share 5\.0%; first: line 26"
    ):
        pipeline.run_source("funding_berlin_test", later, settings)
    (status, _, rejected_count, message), rejected, _ = state(
        warehouse_dsn, pipeline.load_id_for("funding_berlin_test", later)
    )
    assert (status, rejected_count, len(rejected)) == ("quarantined", 1, 1)
    assert "max_rejected_share" in message


def test_a_rerun_replaces_the_batch_rejected_records(warehouse_dsn, tmp_path) -> None:
    settings = settings_for(tmp_path, max_rejected_share=0.2)
    day = datetime(2026, 5, 3, tzinfo=UTC)
    pipeline.run_source("funding_berlin_test", day, settings)
    pipeline.run_source("funding_berlin_test", day, settings)
    _, rejected, _ = state(warehouse_dsn, pipeline.load_id_for("funding_berlin_test", day))
    assert len(rejected) == 1


def test_a_warehouse_from_before_the_rejected_counts_gains_their_columns(warehouse_dsn) -> None:
    from observatory.warehouse.bootstrap import ensure_warehouse_schema

    with psycopg.connect(warehouse_dsn) as conn:
        conn.execute("alter table audit.batch drop column rejected_count, drop column parse_notes")
        conn.execute("alter table audit.data_health drop column rejected_last_batch")
        conn.execute("alter table raw.calendar_event drop column uid_synthesised")
        ensure_warehouse_schema(conn)
        present = set(
            conn.execute(
                """select table_name, column_name from information_schema.columns
                   where (table_schema, table_name) in (('audit', 'batch'), ('audit', 'data_health'),
                                                        ('raw', 'calendar_event'))"""
            ).fetchall()
        )
    assert {
        ("batch", "rejected_count"),
        ("batch", "parse_notes"),
        ("data_health", "rejected_last_batch"),
        ("calendar_event", "uid_synthesised"),
    } <= present
