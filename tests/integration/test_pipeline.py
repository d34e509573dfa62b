"""Collect → land → parse → stage → GX gate → publish, against the real PostgreSQL and localhost HTTP."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from observatory import pipeline
from observatory.quality.gate import QualityGateFailed

DAY = datetime(2026, 3, 1, tzinfo=UTC)


def raw_rows(dsn: str, table: str, source_id: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(f"select count(*) from raw.{table} where source_id = %s", (source_id,)).fetchone()[0]


def test_eurostat_tsv_source_lands_and_publishes_real_values(warehouse_dsn, sample_base_url, landing_dir) -> None:
    published = pipeline.run_source("eurostat_lfsa_ergan", DAY)
    with psycopg.connect(warehouse_dsn) as conn:
        value, flags = conn.execute(
            """select value, flags from raw.eurostat_observation
               where source_id = 'eurostat_lfsa_ergan' and geo = 'AT' and time_period = '2021'
                 and dimensions @> '{"sex": "F", "citizen": "EU27_2020_FOR"}'"""
        ).fetchone()
        fetch = conn.execute(
            """select outcome, http_status, content_sha256, byte_count, landing_path from audit.fetch_log
               where load_id = %s""",
            (pipeline.load_id_for("eurostat_lfsa_ergan", DAY),),
        ).fetchone()
        batch = conn.execute(
            "select status, row_count from audit.batch where load_id = %s",
            (pipeline.load_id_for("eurostat_lfsa_ergan", DAY),),
        ).fetchone()
    assert (value, flags) == (70.4, "b")
    assert published == raw_rows(warehouse_dsn, "eurostat_observation", "eurostat_lfsa_ergan") > 3000
    assert batch == ("published", published)
    outcome, status, digest, size, path = fetch
    kept = (landing_dir / path).read_bytes()
    assert (outcome, status, size) == ("fetched", 200, len(kept))
    assert hashlib.sha256(kept).hexdigest() == digest == path.rsplit("/", 1)[-1]


def test_rerun_of_the_same_interval_is_idempotent(warehouse_dsn, sample_base_url, landing_dir) -> None:
    first = pipeline.run_source("funding_esf_berlin", DAY)
    second = pipeline.run_source("funding_esf_berlin", DAY)
    with psycopg.connect(warehouse_dsn) as conn:
        duplicates = conn.execute(
            """select count(*) from (select operation_key from raw.funding_operation
               where source_id = 'funding_esf_berlin' group by 1 having count(*) > 1) d"""
        ).fetchone()[0]
        amount, currency = conn.execute(
            """select amount, currency from raw.funding_operation where source_id = 'funding_esf_berlin'
               and operation_title = 'Pflegehilfe mit integrierter Deutsch-Förderung'"""
        ).fetchone()
    assert first == second == raw_rows(warehouse_dsn, "funding_operation", "funding_esf_berlin") > 0
    assert duplicates == 0
    assert (str(amount), currency) == ("91100.16", "EUR")


def test_failing_batch_is_quarantined_and_published_rows_survive(
    warehouse_dsn, sample_base_url, landing_dir, monkeypatch, plain_http_registry
) -> None:
    """A rate above 100 breaks the suite: the batch goes to quarantine, raw keeps the last good batch (a plain HTTP
    copy of the entry, conftest.PLAIN_HTTP_ENTRIES: the live entry would skip the same bytes as unchanged)."""
    pipeline.run_source("http_lfsa_urgan", DAY)
    before = raw_rows(warehouse_dsn, "eurostat_observation", "http_lfsa_urgan")

    from observatory.parse import eurostat_tsv

    real_parse = eurostat_tsv.parse_file  # what the pipeline reads a landed TSV file with

    def parse_with_bad_rate(path: Path, options):
        for row in real_parse(path, options):
            yield row[:4] + (180.0,) + row[5:] if row[2] == "AT" else row

    monkeypatch.setattr(eurostat_tsv, "parse_file", parse_with_bad_rate)
    later = datetime(2026, 3, 2, tzinfo=UTC)
    with pytest.raises(QualityGateFailed, match="expect_column_values_to_be_between\\(value\\)"):
        pipeline.run_source("http_lfsa_urgan", later)
    load_id = pipeline.load_id_for("http_lfsa_urgan", later)
    with psycopg.connect(warehouse_dsn) as conn:
        status, message = conn.execute(
            "select status, message from audit.batch where load_id = %s", (load_id,)
        ).fetchone()
        quarantined = conn.execute(f'select count(*) from quarantine."{load_id}" where value = 180').fetchone()[0]
        failed = conn.execute(
            """select count(*) from audit.validation_result
                                 where load_id = %s and not success""",
            (load_id,),
        ).fetchone()[0]
        still_published = conn.execute("""select count(*) from raw.eurostat_observation
                                          where source_id = 'http_lfsa_urgan' and value > 100""").fetchone()[0]
    assert status == "quarantined" and "value" in message
    assert quarantined > 0 and failed >= 1
    assert raw_rows(warehouse_dsn, "eurostat_observation", "http_lfsa_urgan") == before
    assert still_published == 0


def test_http_error_fails_the_batch_with_a_clear_message(
    warehouse_dsn, httpserver, landing_dir, monkeypatch, plain_http_registry
) -> None:
    httpserver.expect_request("/eurostat/estat_lfsa_ergan_filtered.tsv").respond_with_data("gone", status=404)
    monkeypatch.setenv("OBSERVATORY_SAMPLE_BASE_URL", httpserver.url_for("").rstrip("/"))
    with pytest.raises(Exception, match="HTTP 404"):
        pipeline.run_source("http_lfsa_ergan", datetime(2026, 3, 3, tzinfo=UTC))
    with psycopg.connect(warehouse_dsn) as conn:
        outcome, message = conn.execute(
            "select outcome, message from audit.fetch_log where load_id = %s",
            (pipeline.load_id_for("http_lfsa_ergan", datetime(2026, 3, 3, tzinfo=UTC)),),
        ).fetchone()
    assert outcome == "failed" and "HTTP 404" in message


def test_malformed_payload_fails_parse_and_keeps_the_raw_bytes(
    warehouse_dsn, httpserver, landing_dir, monkeypatch, plain_http_registry
) -> None:
    broken = b"freq,unit,sex,age,citizen,geo\\TIME_PERIOD\t2015 \nA,PC,T,Y20-64,NAT,AT\t70.1\t99.9\n"
    httpserver.expect_request("/eurostat/estat_lfsa_ergan_filtered.tsv").respond_with_data(broken)
    monkeypatch.setenv("OBSERVATORY_SAMPLE_BASE_URL", httpserver.url_for("").rstrip("/"))
    day = datetime(2026, 3, 4, tzinfo=UTC)
    from observatory.parse import ParseError

    with pytest.raises(ParseError, match="line 2"):
        pipeline.run_source("http_lfsa_ergan", day)
    digest = hashlib.sha256(broken).hexdigest()
    assert (landing_dir / "http_lfsa_ergan" / digest[:2] / digest).read_bytes() == broken
    with psycopg.connect(warehouse_dsn) as conn:
        status = conn.execute(
            "select status from audit.batch where load_id = %s", (pipeline.load_id_for("http_lfsa_ergan", day),)
        ).fetchone()[0]
    assert status == "failed"
