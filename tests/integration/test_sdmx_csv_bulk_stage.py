"""pipeline.stage of an SDMX-CSV download through the bulk path (``sdmx_csv.parse_arrays_file`` → ``stage_arrays``):
a gzip download with bad records mixed in stages exactly the rows of the row parser, and its rejected records and
notes reach the batch's accounting (``audit.rejected_record``, ``rejected_count``, ``parse_notes``) as they always
have."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql

from observatory import pipeline
from observatory.config.settings import Settings
from observatory.parse import Rejected, sdmx_csv
from observatory.warehouse.load import stage_table
from observatory_dev.generators.sdmx_csv import write_sdmx_csv

pytestmark = pytest.mark.integration

SOURCE_ID = "eurostat_bulk_stage_test"
DAY = datetime(2026, 6, 1, tzinfo=UTC)


def _download(path: Path) -> Path:
    """A generated download of 3,000 observations with, among them, records the row parser rejects or skips."""
    write_sdmx_csv(path, 3_000)
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    record = next(line for line in lines[1:] if b".0," in line)  # one with a value
    odd = [
        record.replace(b".0,", b".0x,", 1),  # a value that is not a number
        record.replace(b",A,", b",,", 1),  # an empty freq code
        record.replace(b",", b"", 1),  # a field short
        record,  # a duplicate key
        b"\n",  # a blank line
        record.replace(b"MIGR_POP1CTZ", b"OTHER", 1),  # another dataset: a note
    ]
    for number, line in enumerate(odd):
        lines.insert(400 * (number + 1), line)
    path.write_bytes(gzip.compress(b"".join(lines), compresslevel=1))
    return path


def test_a_download_with_bad_records_stages_the_row_parsers_rows(warehouse_dsn: str, tmp_path: Path) -> None:
    download = _download(tmp_path / "migr_pop1ctz.csv.gz")
    parsed = list(sdmx_csv.parse_file(download, {}))
    rows = [item for item in parsed if isinstance(item, tuple)]
    rejected = [item for item in parsed if isinstance(item, Rejected)]
    notes = [item for item in parsed if not isinstance(item, tuple | Rejected)]
    assert len(rejected) == 3 and len(notes) == 3  # labels, dataset code, the other dataset's code
    registry = {
        "sources": {
            SOURCE_ID: {
                "kind": "indicators",
                "format": "sdmx_csv",
                "description": "generated migr_pop1ctz download with bad records",
                "publisher": "test",
                "suite": "eurostat_counts",
                "paths": [str(download)],
                "freshness": {"warn_after_hours": 1, "error_after_hours": 2},
            }
        }
    }
    (tmp_path / "sources.yml").write_text(yaml.safe_dump(registry), encoding="utf-8")
    settings = Settings.from_env().replace(registry_path=tmp_path / "sources.yml", landing_dir=tmp_path / "landing")
    load_id = pipeline.load_id_for(SOURCE_ID, DAY)
    landed = pipeline.fetch(SOURCE_ID, DAY, settings)

    assert pipeline.stage(SOURCE_ID, load_id, landed, settings) == len(rows) == 3_002

    resource = landed[0]["resource"]
    with psycopg.connect(warehouse_dsn) as conn:
        status, row_count, rejected_count, parse_notes = conn.execute(
            "select status, row_count, rejected_count, parse_notes from audit.batch where load_id = %s", (load_id,)
        ).fetchone()
        kept = conn.execute(
            "select resource, location, reason, raw_record from audit.rejected_record where load_id = %s", (load_id,)
        ).fetchall()
        staged = conn.execute(
            sql.SQL(
                "select dataset_code, dimensions, geo, time_period, value, flags, dataset_updated, confidentiality "
                "from {}"
            ).format(stage_table(load_id))
        ).fetchall()
    assert (status, row_count, rejected_count) == ("staged", 3_002, 3)
    assert sorted(kept) == sorted((resource, item.where, item.reason, item.raw) for item in rejected)
    assert parse_notes == [{"resource": resource, "where": note.where, "note": note.note} for note in notes]
    assert Counter((code, _json(dims), *rest) for code, dims, *rest in staged) == Counter(
        (code, _json(json.loads(dims)), *rest) for code, dims, *rest in rows
    )


def _json(dimensions: dict[str, str]) -> str:
    return json.dumps(dimensions, sort_keys=True)
