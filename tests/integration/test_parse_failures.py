"""Whatever a parser raises, the batch ends failed with one line naming the file and the record, and the task
fails with a ParseError (never a bare AttributeError reaching Airflow); rejected records are kept with their
reasons and a batch that rejects more than its entry allows is quarantined."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from observatory import pipeline
from observatory.parse import ParseError, Rejected, eurostat_tsv
from observatory.quality.gate import QualityGateFailed

DAY = datetime(2026, 4, 1, tzinfo=UTC)
SOURCE = "http_lfsa_ergan"  # conftest.PLAIN_HTTP_ENTRIES: a plain HTTP copy of eurostat_lfsa_ergan


def batch(dsn: str, day: datetime) -> tuple:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select status, message, row_count, rejected_count from audit.batch where load_id = %s",
            (pipeline.load_id_for(SOURCE, day),),
        ).fetchone()


def test_a_parser_crash_fails_the_batch_with_one_line_naming_file_and_record(
    warehouse_dsn, sample_base_url, landing_dir, monkeypatch, plain_http_registry
) -> None:
    real_parse = eurostat_tsv.parse_file  # what the pipeline reads a landed TSV file with

    def crashing_parse(path: Path, options):
        for number, row in enumerate(real_parse(path, options)):
            if number == 41:
                raise AttributeError("'NoneType' object has no attribute 'group'")
            yield row

    monkeypatch.setattr(eurostat_tsv, "parse_file", crashing_parse)
    with pytest.raises(ParseError) as raised:
        pipeline.run_source(SOURCE, DAY)
    status, message, _, _ = batch(warehouse_dsn, DAY)
    assert status == "failed" and message == str(raised.value) and "\n" not in message
    assert message == (
        f"{SOURCE}: {sample_base_url}/eurostat/estat_lfsa_ergan_filtered.tsv: parser eurostat_tsv failed after "
        "record 41: AttributeError: 'NoneType' object has no attribute 'group'"
    )


def test_rejected_records_are_kept_and_a_strict_entry_quarantines_the_batch(
    warehouse_dsn, sample_base_url, landing_dir, monkeypatch, plain_http_registry
) -> None:
    """Indicators are strict (max_rejected_share 0): one rejected cell quarantines the batch, with the reason,
    and the published rows of the previous batch stay."""
    published = pipeline.run_source(SOURCE, DAY)
    real_parse = eurostat_tsv.parse_file

    def parse_rejecting_one(path: Path, options):
        for number, row in enumerate(real_parse(path, options)):
            yield (
                Rejected(f"line {number + 2}", "value 'x' is not a number", "A,PC,F,Y20-64,NAT,AT\tx")
                if number == 7
                else row
            )

    monkeypatch.setattr(eurostat_tsv, "parse_file", parse_rejecting_one)
    later = datetime(2026, 4, 2, tzinfo=UTC)
    with pytest.raises(
        QualityGateFailed, match=r"1 of \d+ records rejected .* max_rejected_share 0\.0%; first: line 9"
    ):
        pipeline.run_source(SOURCE, later)
    status, message, row_count, rejected = batch(warehouse_dsn, later)
    with psycopg.connect(warehouse_dsn) as conn:
        kept = conn.execute(
            "select location, reason, raw_record from audit.rejected_record where load_id = %s",
            (pipeline.load_id_for(SOURCE, later),),
        ).fetchall()
        still = conn.execute(
            "select count(*) from raw.eurostat_observation where source_id = %s", (SOURCE,)
        ).fetchone()[0]
    assert (status, row_count, rejected) == ("quarantined", published - 1, 1)
    assert "max_rejected_share" in message
    assert kept == [("line 9", "value 'x' is not a number", "A,PC,F,Y20-64,NAT,AT\tx")]
    assert still == published
