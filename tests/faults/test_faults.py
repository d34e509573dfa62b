"""The fault-injection suite: every case of ``observatory_dev.faults`` (shared with
``python -m observatory_dev.faults``)
against a scripted pytest-httpserver on localhost and this session's real PostgreSQL database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from observatory_dev.faults.cases import CASES, LOADED_OUTCOMES, REJECTED_OUTCOMES, FaultCase
from observatory_dev.faults.hostile_cases import REFUSED_BEFORE_FETCH
from observatory_dev.faults.lab import FaultLab
from observatory_dev.faults.platform_cases import PLATFORM_LOADED_OUTCOMES

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lab(warehouse_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultLab]:
    server = HTTPServer(threaded=True)  # threaded: a delayed or cut-off answer must not hold the next request
    server.start()
    yield FaultLab(server, tmp_path_factory.mktemp("faults"), warehouse_dsn)
    server.stop()


def test_the_catalogue_covers_the_faults_of_the_issue() -> None:
    names = [case.name for case in CASES]
    assert len(CASES) >= 16 and len(set(names)) == len(names)
    assert {
        "http_5xx",
        "http_429",
        "connection_reset",
        "read_timeout",
        "truncated_body",
        "wrong_content_type",
        "invalid_json",
        "jsonstat_value_count",
        "cp1252_decimal_comma",
        "duplicated_rows",
        "new_column",
        "dropped_column",
        "ics_invalid_dates",
        "corrupt_pdf",
        "over_size_cap",
        "killed_mid_copy",
        "concurrent_runs",
    } <= set(names)
    assert {
        "gzip_bomb_encoded",
        "gzip_bomb_file",
        "nested_json",
        "billion_laughs",
        "xml_external_entity",
        "slow_drip",
        "redirect_metadata",
        "redirect_private",
        "redirect_other_host",
        "redirect_file_scheme",
        "future_logical_date",
        "past_logical_date",
        "yaml_alias_bomb",
    } <= set(names)
    assert {
        "warehouse_restart_publish",
        "warehouse_restart_dbt",
        "dbt_model_fails",
        "landing_disk_full",
        "landing_disk_full_user",
        "backfill_vs_scheduled",
    } <= set(names)
    for case in CASES:
        assert case.expected in LOADED_OUTCOMES | PLATFORM_LOADED_OUTCOMES | REJECTED_OUTCOMES | {REFUSED_BEFORE_FETCH}
        if case.expected in REJECTED_OUTCOMES | {REFUSED_BEFORE_FETCH}:
            assert case.message, f"{case.name}: a rejection must name the message it expects"


@pytest.mark.integration
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fault_is_survived(lab: FaultLab, case: FaultCase) -> None:
    result = lab.run(case)
    assert result.outcome == case.expected, result.report()
    assert (result.rows_lost, result.duplicates, result.unexpected_rows) == (0, 0, 0), result.report()
    assert not result.problems, result.report()


@pytest.mark.integration
def test_runner_prints_the_table_and_the_summary_line(warehouse_dsn: str) -> None:
    """`python -m observatory_dev.faults` runs the same cases (here two of them) and ends with the summary line."""
    result = subprocess.run(
        [sys.executable, "-m", "observatory_dev.faults", "--case", "http_5xx", "--case", "invalid_json"],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=300,
    )
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert lines[0].split() == ["fault", "outcome", "rows", "lost", "duplicates"]
    assert any(line.startswith("HTTP 500, 503, then 200") and "retried, loaded" in line for line in lines)
    assert any(line.startswith("invalid JSON") and "rejected at parse" in line for line in lines)
    assert lines[-1] == "faults tried=2 survived=2 rows_lost=0 duplicates=0"
