"""The calendar_event suite (expectations/calendar_event.json) run by GX on staged rows in PostgreSQL: a row
without a start passes only with its reason, and a row with a start only without one."""

from __future__ import annotations

import psycopg
import pytest

from observatory.config.settings import Settings
from observatory.parse import ics
from observatory.quality.gate import load_suite, validate_table
from observatory.warehouse.load import stage_rows
from observatory.warehouse.raw_tables import RAW_TABLES

REASON = RAW_TABLES["calendar_event"].column_names.index("start_missing_reason")
FEED = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
    b"BEGIN:VEVENT\r\nUID:dated@example.org\r\nDTSTART:20250301T100000Z\r\nSUMMARY:Dated\r\nEND:VEVENT\r\n"
    b"BEGIN:VEVENT\r\nUID:undated@example.org\r\nDTSTART:20250231T100000Z\r\nSUMMARY:31 February\r\nEND:VEVENT\r\n"
    b"END:VCALENDAR\r\n"
)


def failed_expectations(dsn: str, load_id: str, rows: list[tuple]) -> dict[str, object]:
    """The suite's failed expectations on ``rows`` staged as a batch: type → its result."""
    with psycopg.connect(dsn) as conn:
        stage_rows(conn, load_id, "suite_test", "calendar_event", rows)
    suite = load_suite("calendar_event", Settings.from_env().expectations_dir)
    result = validate_table(dsn, "stage", load_id, suite)
    failed = [item for item in result.results if not item.success]
    return {item.expectation_config.type: item.result for item in failed if item.expectation_config is not None}


@pytest.mark.integration
def test_a_null_start_passes_only_with_its_reason(warehouse_dsn: str) -> None:
    dated, undated = [row for row in ics.parse(FEED, {}) if isinstance(row, tuple)]
    assert (dated[1] is not None, undated[1], undated[REASON]) == (
        True,
        None,
        "unreadable DTSTART: Wrong datetime format: 20250231T100000Z",
    )
    also_dated = ("also-dated@example.org", *dated[1:])
    no_reason = ("no-reason@example.org", *undated[1:REASON], None)
    a_reason_too = ("a-reason-too@example.org", *dated[1:REASON], "no DTSTART")
    failed = failed_expectations(warehouse_dsn, "suite_test", [dated, also_dated, undated, no_reason, a_reason_too])
    assert failed == {"unexpected_rows_expectation": {"observed_value": 2}}  # the two wrong rows of five
