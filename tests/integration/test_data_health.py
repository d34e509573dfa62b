"""Source freshness from the registry's thresholds, checked by real `dbt source freshness` against the audit log,
and the daily data-health summary built from it (the data_health DAG's two steps; the demo runs the DAG)."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from observatory.config.registry import load_registry
from observatory.config.settings import Settings
from observatory.quality.freshness import freshness_selector, store_freshness_results
from observatory.quality.health import write_daily_summary
from observatory_dev.docs_site import dbt_command

NOW = datetime.now(UTC)
DAY = date(2026, 4, 1)
# (source, status, finished hours ago); thresholds in sources.yml: eurostat 192/720 h, funding 2160/8760 h,
# events (defaults) 48/168 h
BATCHES = [
    ("eurostat_lfsa_ergan", "published", 2),
    ("funding_esf_berlin", "published", 100 * 24),  # past warn (90 days), within error (365 days)
    ("events_fablab_cottbus", "published", 10 * 24),  # past error (7 days)
    ("events_machbar_potsdam", "unchanged", 1),  # found unchanged at the publisher an hour ago: fresh
    ("events_machbar_potsdam", "published", 30 * 24),
    ("eurostat_lfsa_urgan", "published", 3),
    ("eurostat_lfsa_urgan", "quarantined", 1),  # a newer batch failed the quality gate
]


@pytest.fixture(scope="module")
def freshness_run(warehouse_dsn, tmp_path_factory) -> tuple[subprocess.CompletedProcess, list[dict]]:
    with psycopg.connect(warehouse_dsn) as conn:
        for number, (source_id, status, hours_ago) in enumerate(BATCHES):
            finished = NOW - timedelta(hours=hours_ago)
            conn.execute(
                """insert into audit.batch (load_id, source_id, raw_table, logical_date, status, started_at,
                                            finished_at)
                   values (%s, %s, 'x', %s, %s, %s, %s)""",
                (
                    f"{source_id}__{number}",
                    source_id,
                    datetime(2026, 4, 1, number, tzinfo=UTC),
                    status,
                    finished - timedelta(minutes=1),
                    finished,
                ),
            )
        conn.execute("""insert into audit.validation_result (load_id, suite, expectation, success) values
                        ('eurostat_lfsa_urgan__6', 'eurostat_rates', 'expect_column_values_to_be_between', false),
                        ('eurostat_lfsa_urgan__6', 'eurostat_rates', 'expect_column_to_exist', true)""")
    project = tmp_path_factory.mktemp("dbt_freshness")
    result = dbt_command(
        [
            "source",
            "freshness",
            "--select",
            freshness_selector(Settings.from_env()),
            "--target-path",
            str(project / "target"),
            "--log-path",
            str(project / "logs"),
        ],
        warehouse_dsn,
        check=False,
    )
    with pytest.MonkeyPatch.context() as patch:  # the stale sources' alerts go to this test's own log
        patch.setenv("OBSERVATORY_NOTIFY_LOG", str(project / "notifications.log"))
        patch.delenv("OBSERVATORY_NOTIFY_URLS", raising=False)
        patch.delenv("OBSERVATORY_NOTIFY_URL", raising=False)
        store_freshness_results(str(project), {"run_id": "test_run"})
    with psycopg.connect(warehouse_dsn) as conn:
        rows = write_daily_summary(conn, DAY)
    return result, rows


def test_dbt_checks_every_registry_entry_with_its_own_thresholds(freshness_run, warehouse_dsn) -> None:
    result, _ = freshness_run
    assert result.returncode != 0, "a source past its error threshold must make dbt source freshness fail"
    with psycopg.connect(warehouse_dsn) as conn:
        stored = {
            source_id: (status, warn, error)
            for source_id, status, warn, error in conn.execute(
                """select source_id, status, warn_after_hours, error_after_hours from audit.source_freshness
               where run_id = 'test_run'"""
            ).fetchall()
        }
    registry = load_registry()
    assert set(stored) == set(registry.sources)
    for source_id, (_, warn, error) in stored.items():
        freshness = registry[source_id].freshness
        assert (warn, error) == (freshness.warn_after_hours, freshness.error_after_hours), source_id
    assert stored["eurostat_lfsa_ergan"][0] == "pass"
    assert stored["funding_esf_berlin"][0] == "warn"
    assert stored["events_fablab_cottbus"][0] == "error"
    assert stored["events_machbar_potsdam"][0] == "pass"  # 'unchanged' counts as a successful check
    assert stored["eurostat_lfsa_urgan"][0] == "pass"  # the quarantined batch is not a success, the older one is


def test_rerunning_the_check_in_the_same_run_replaces_its_rows(freshness_run, warehouse_dsn, tmp_path) -> None:
    with psycopg.connect(warehouse_dsn) as conn:
        before = conn.execute("select count(*) from audit.source_freshness").fetchone()[0]
    with psycopg.connect(warehouse_dsn) as conn:
        write_daily_summary(conn, DAY)
        write_daily_summary(conn, DAY)
        health_rows = conn.execute("select count(*) from audit.data_health where health_date = %s", (DAY,)).fetchone()
        assert conn.execute("select count(*) from audit.source_freshness").fetchone()[0] == before
    assert health_rows == (len(load_registry().sources),)


def test_daily_summary_statuses_and_reasons(freshness_run, warehouse_dsn) -> None:
    with psycopg.connect(warehouse_dsn) as conn:
        health = {
            row[0]: row[1:]
            for row in conn.execute(
                """select source_id, health_status, freshness_status, last_batch_status, expectations_failed,
                      expectations_evaluated, quarantined_last_7_days, quarantined_total, note
               from audit.data_health where health_date = %s""",
                (DAY,),
            ).fetchall()
        }
    assert health["eurostat_lfsa_ergan"][:3] == ("ok", "pass", "published")
    assert health["funding_esf_berlin"][:2] == ("warn", "warn")
    assert health["events_fablab_cottbus"][:2] == ("error", "error")
    # fresh, but its last batch was quarantined: error, with the failed expectation counted
    assert health["eurostat_lfsa_urgan"][:7] == ("error", "pass", "quarantined", 1, 2, 1, 1)
    never = health["reports_city_network_updates"]
    assert never[1] in ("error", "runtime error") and never[0] == "error"
    assert never[3] is None and "no batch published yet" in never[7] and "no batch validated yet" in never[7]
