"""Alert messages and targets, without any server (observatory.airflow.notify)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from observatory.airflow.notify import Alert, deliver, failure_alerts, health_day, notify_urls

LOG_URL = "http://localhost:8080/dags/report/runs/manual__1/tasks/render?try_number=3"


def failed_context(dag_id: str = "report", task_id: str = "render") -> dict:
    ti = SimpleNamespace(dag_id=dag_id, task_id=task_id, run_id="manual__1", try_number=3, log_url=LOG_URL)
    return {
        "ti": ti,
        "exception": ValueError("bad cell\nsecond line"),
        "logical_date": datetime(2026, 6, 1, tzinfo=UTC),
    }


def test_a_message_names_source_batch_reason_and_log_link() -> None:
    alert = Alert("quarantine", "eurostat_lfsa_ergan", "b1", "b1", "suite 'eurostat_rates' failed", LOG_URL)
    assert alert.title == "Observatory: eurostat_lfsa_ergan: batch quarantined"
    assert alert.body.splitlines() == [
        "source: eurostat_lfsa_ergan",
        "batch: b1",
        "reason: suite 'eurostat_rates' failed",
        f"log: {LOG_URL}",
    ]


def test_a_failure_outside_a_collection_is_keyed_by_its_task_try_and_carries_the_summary() -> None:
    [alert] = failure_alerts(failed_context(), "observatory failure: dag=report step=render")
    assert (alert.kind, alert.source, alert.key, alert.batch) == (
        "task_failed",
        "report",
        "report/render/manual__1",
        None,
    )
    assert alert.reason == "ValueError: bad cell"
    assert alert.log_url == LOG_URL
    assert alert.detail == {
        "task": "report.render",
        "run": "manual__1",
        "try": 3,
        "summary": "observatory failure: dag=report step=render",
    }
    assert "summary: observatory failure: dag=report step=render" in alert.body


def test_urls_are_split_on_commas_and_spaces_and_the_legacy_webhook_is_sent_as_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "OBSERVATORY_NOTIFY_URLS", " mailtos://alerts:changeme@smtp.example.org?to=ops@example.org,  slack://a/b/c\n"
    )
    monkeypatch.setenv("OBSERVATORY_NOTIFY_URL", "https://hooks.example.org/T0/secret")
    assert notify_urls() == [
        "mailtos://alerts:changeme@smtp.example.org?to=ops@example.org",
        "slack://a/b/c",
        "jsons://hooks.example.org/T0/secret",
    ]
    monkeypatch.delenv("OBSERVATORY_NOTIFY_URLS")
    monkeypatch.setenv("OBSERVATORY_NOTIFY_URL", "http://127.0.0.1:9/hook")
    assert notify_urls() == ["json://127.0.0.1:9/hook"]


def test_without_targets_the_alert_is_a_json_line_in_the_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OBSERVATORY_NOTIFY_URLS", raising=False)
    monkeypatch.delenv("OBSERVATORY_NOTIFY_URL", raising=False)
    monkeypatch.setenv("OBSERVATORY_NOTIFY_LOG", str(tmp_path / "logs" / "notifications.log"))
    alert = Alert("freshness", "s1", "2026-06-01", "s1__20260520_000000", "last loaded 50 h ago", LOG_URL)
    assert deliver(alert) == str(tmp_path / "logs" / "notifications.log")
    [line] = (tmp_path / "logs" / "notifications.log").read_text().splitlines()
    record = json.loads(line)
    assert (record["kind"], record["source"], record["batch"], record["log_url"]) == (
        "freshness",
        "s1",
        "s1__20260520_000000",
        LOG_URL,
    )
    assert record["text"] == alert.body and "delivery_errors" not in record


def test_an_unusable_target_falls_back_to_the_log_without_its_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OBSERVATORY_NOTIFY_URLS", "nosuchservice://secret-token@example.org")
    monkeypatch.delenv("OBSERVATORY_NOTIFY_URL", raising=False)
    monkeypatch.setenv("OBSERVATORY_NOTIFY_LOG", str(tmp_path / "notifications.log"))
    with caplog.at_level(logging.DEBUG):
        deliver(Alert("task_failed", "report", "k", None, "boom", None))
    written = (tmp_path / "notifications.log").read_text()
    assert json.loads(written)["delivery_errors"] == ["target 1 (nosuchservice): not an apprise URL"]
    assert "secret-token" not in written and "secret-token" not in caplog.text


def test_a_health_run_without_a_logical_date_checks_today() -> None:
    assert health_day({"logical_date": datetime(2026, 6, 1, 23, tzinfo=UTC)}).isoformat() == "2026-06-01"
    assert health_day({}) == datetime.now(UTC).date()


def test_the_freshness_reason_names_the_age_the_last_load_and_the_threshold() -> None:
    from decimal import Decimal

    from observatory.airflow.notify import freshness_reason

    loaded = datetime(2026, 5, 29, 2, tzinfo=UTC)
    assert freshness_reason(Decimal("78.00"), 48, loaded) == (
        "last loaded 78.0 h ago (2026-05-29T02:00:00+00:00), error threshold 48 h"
    )
    assert freshness_reason(None, 48, None) == "never loaded, error threshold 48 h"
    assert freshness_reason(17758826.8, 48, datetime(1, 1, 1, tzinfo=UTC)) == "never loaded, error threshold 48 h"
