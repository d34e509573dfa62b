"""`make bench`'s machinery on 20,000 observations: every stage runs (the real collector against the bench's file
server, parse, the GX gate, publish, dbt build twice, the unchanged rerun, COPY, dlt, to_sql) and the last line
carries every field. No timing is asserted: the figures of a small run on a shared machine mean nothing."""

from __future__ import annotations

import gzip
import math
import os
import re

import pytest

from observatory.parse import sdmx_csv
from observatory_dev import bench
from observatory_dev.generators import population_cube
from observatory_dev.generators.jsonstat import synthetic_cube
from observatory_dev.generators.sdmx_csv import write_sdmx_csv

pytestmark = pytest.mark.integration

N = 20_000
FIELDS = (
    "rows ours_rows_per_s copy_rows_per_s to_sql_rows_per_s dlt_rows_per_s vs_copy vs_to_sql vs_dlt peak_rss_mb "
    "unchanged_rerun_ratio end_to_end_s incremental_rebuild_ratio"
).split()


@pytest.fixture(scope="module")
def run() -> tuple[bench.BenchResult, str]:
    result = bench.run_bench(N, database=f"observatory_bench_test_{os.getpid()}")
    return result, bench.last_line(result.fields)


def test_last_line_has_every_field_in_order_and_parseable(run) -> None:
    _, line = run
    assert line.startswith("bench ")
    pairs = [item.split("=", 1) for item in line.split()[1:]]
    assert [name for name, _ in pairs] == FIELDS
    values = {name: float(value) for name, value in pairs}
    assert values["rows"] == N
    assert all(math.isfinite(value) and value > 0 for value in values.values())


def test_every_loader_loaded_the_same_rows(run) -> None:
    result, _ = run
    assert result.fields["published_rows"] == N
    assert result.fields["dlt_loaded_rows"] == N  # dlt's Arrow path, on all rows
    assert result.stage("COPY of a ready CSV").rows == N
    assert result.stage("dlt, Python dicts").rows == N  # the sample is all rows at this size
    assert result.stage("dbt build (whole project)").rows == N + bench.changing_size(N)  # both datasets reach the marts
    assert result.stage("incremental dbt rebuild").rows == N + bench.changing_size(N)


def test_the_report_is_a_table_then_the_last_line(run, capsys) -> None:
    result, line = run
    bench.report(result)
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1] == line
    assert re.match(r"stage\s+rows\s+seconds\s+rows/s\s+peak RSS MB\s+note", printed[1])
    for name in ("collect", "parse+stage", "validate (GX gate)", "publish", "dbt build (whole project)"):
        assert any(row.startswith(name) for row in printed[2:-1]), name


def test_sdmx_csv_generator_is_deterministic_and_parses_to_exactly_n_rows(tmp_path) -> None:
    first, second, changed = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz", tmp_path / "c.csv.gz"
    write_sdmx_csv(first, 5_000)
    write_sdmx_csv(second, 5_000)
    write_sdmx_csv(changed, 5_000, revision=1)
    assert gzip.decompress(first.read_bytes()) == gzip.decompress(second.read_bytes())
    rows = [row for row in sdmx_csv.parse(first.read_bytes(), {}) if isinstance(row, tuple)]
    moved = [row for row in sdmx_csv.parse(changed.read_bytes(), {}) if isinstance(row, tuple)]
    assert len(rows) == len(moved) == 5_000
    assert [row[:4] for row in rows] == [row[:4] for row in moved]  # same cells ...
    assert [row[4] for row in rows] != [row[4] for row in moved]  # ... new values
    assert {row[0] for row in rows} == {"migr_pop1ctz"}
    assert any(row[5] for row in rows) and any(row[7] == "C" for row in rows)  # flags and withheld cells


def test_jsonstat_generator_has_eurostats_shape() -> None:
    import orjson

    cube = orjson.loads(synthetic_cube(3_000))
    assert len(cube["value"]) == 3_000 and 0 < len(cube["status"]) < 3_000
    assert cube["id"] == [dimension.id for dimension in population_cube(3_000).dimensions]
    assert set(cube["extension"]["status"]["label"]) == set(cube["status"].values())
    assert cube["dimension"]["geo"]["category"]["label"]["DE"] == "Germany"
    assert list(cube["value"]) != sorted(cube["value"], key=int)  # unsorted keys, like the API's
