"""Alerts that reach a person (observatory.airflow.notify) through apprise, received by a local SMTP server and a
local webhook: one message per event, naming source, batch, reason and log link; none for a retry that succeeded."""

from __future__ import annotations

import json
import socket
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
import yaml
from aiosmtpd.controller import Controller
from psycopg import sql
from pytest_httpserver import HTTPServer

from observatory.airflow.notify import on_failure_callback
from observatory.quality.freshness import store_freshness_results

pytestmark = pytest.mark.integration
LOG_URL = "http://localhost:8080/dags/{dag}/runs/{run}/tasks/{task}?try_number=1"


class Inbox:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"

    def bodies(self) -> list[str]:
        return [
            bytes(part.get_payload(decode=True)).decode()
            for message in self.messages
            for part in message.walk()
            if part.get_content_type() == "text/plain"
        ]


@pytest.fixture()
def inbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Inbox]:
    """A local SMTP server on a free port, the only alert target (``mailto://``, no TLS)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv(
        "OBSERVATORY_NOTIFY_URLS", f"mailto://127.0.0.1:{port}?from=alerts%40observatory.local&to=ops%40example.org"
    )
    monkeypatch.delenv("OBSERVATORY_NOTIFY_URL", raising=False)
    monkeypatch.setenv("OBSERVATORY_NOTIFY_LOG", str(tmp_path / "notifications.log"))
    yield handler
    controller.stop()


def task_context(dag_id: str, task_id: str, run_id: str, logical_date: datetime, error: BaseException) -> dict:
    ti = SimpleNamespace(
        dag_id=dag_id,
        task_id=task_id,
        run_id=run_id,
        try_number=3,
        log_url=LOG_URL.format(dag=dag_id, run=run_id, task=task_id),
    )
    return {"ti": ti, "run_id": run_id, "exception": error, "logical_date": logical_date}


def test_a_quarantined_batch_sends_one_message(warehouse_dsn: str, inbox: Inbox) -> None:
    from observatory.airflow.notify import notify, quarantine_alert
    from observatory.pipeline import load_id_for
    from observatory.quality.gate import QualityGateFailed

    day = datetime(2026, 6, 1, tzinfo=UTC)
    load_id = load_id_for("alerted_source", day)
    with psycopg.connect(warehouse_dsn) as conn:
        conn.execute(
            "insert into audit.batch (load_id, source_id, raw_table, logical_date, status, message)"
            " values (%s, 'alerted_source', 'eurostat_observation', %s, 'quarantined', 'band')",
            (load_id, day),
        )
        conn.execute(sql.SQL("create table quarantine.{} (x int)").format(sql.Identifier(load_id)))
    reason = f"batch {load_id} failed suite 'eurostat_rates': band"
    context = task_context(
        "collect__alerted_source", "validate", "scheduled__2026-06-01", day, QualityGateFailed(reason)
    )
    alert = quarantine_alert("alerted_source", load_id, reason, context["ti"].log_url)
    assert alert is not None
    assert notify(alert) == "apprise"  # what the validate step sends when it quarantines
    on_failure_callback(context)  # the same batch, after the retries: not sent again
    assert quarantine_alert("nothing_here", "nothing_here__20260601_000000", reason, None) is None
    [message] = inbox.messages
    assert message["Subject"] == "Observatory: alerted_source: batch quarantined"
    [body] = inbox.bodies()
    assert f"batch: {load_id}" in body and f"reason: {reason}" in body
    assert f"log: {context['ti'].log_url}" in body and f"evidence: quarantine.{load_id}" in body
    with psycopg.connect(warehouse_dsn) as conn:
        assert conn.execute("select kind, source_id, event_key from audit.notification").fetchall() == [
            ("quarantine", "alerted_source", load_id)
        ]


def test_a_stale_source_sends_one_freshness_message_per_day(warehouse_dsn: str, inbox: Inbox, tmp_path: Path) -> None:
    """dbt's freshness results (its ``target/sources.json``) as the data_health DAG's cosmos callback gets them."""
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "sources.json").write_text(
        json.dumps(
            {
                "results": [
                    {
                        "unique_id": f"source.observatory.registry.{source_id}",
                        "status": status,
                        "max_loaded_at": "2026-05-29T00:00:00+00:00",
                        "snapshotted_at": "2026-06-01T06:00:00+00:00",
                        "max_loaded_at_time_ago_in_s": 3600 * 78,
                        "criteria": {"warn_after": {"count": 24}, "error_after": {"count": 48}},
                    }
                    for source_id, status in (("stale_source", "error"), ("late_source", "warn"))
                ]
            }
        )
    )

    def run(run_id: str, day: int) -> None:
        context = task_context(
            "data_health", "dbt_source_freshness", run_id, datetime(2026, 6, day, tzinfo=UTC), RuntimeError("stale")
        )
        store_freshness_results(str(tmp_path), context=context)
        on_failure_callback(context)  # the task fails for the stale source: no second message for it

    run("scheduled__2026-06-01", 1)
    run("manual__2026-06-01-rerun", 1)
    assert len(inbox.messages) == 1
    run("scheduled__2026-06-02", 2)
    assert [message["Subject"] for message in inbox.messages] == [
        "Observatory: stale_source: source past its freshness error threshold"
    ] * 2
    first = inbox.bodies()[0]
    assert "source: stale_source" in first and "batch: none" in first
    assert "reason: last loaded 78.0 h ago (2026-05-29T00:00:00+00:00), error threshold 48 h" in first
    assert "log: http://localhost:8080/dags/data_health/runs/scheduled__2026-06-01/tasks/dbt_source_freshness" in first


FLAKY_DAGS = '''
"""A DAG with a task that fails its first try and then succeeds and a task that fails for good, and the
collection DAGs of the test's registry."""
from datetime import datetime, timedelta, timezone
from pathlib import Path

from airflow.sdk import dag, task

from observatory.airflow.dag_factory import collection_dag, task_defaults
from observatory.config.registry import load_registry

MARKER = Path({marker!r})


@dag(dag_id="flaky", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
     default_args=task_defaults("tests", 1, timedelta(0)))
def flaky():
    @task
    def fails_once():
        MARKER.mkdir(exist_ok=True)
        tries = len(list(MARKER.iterdir()))
        (MARKER / f"try{{tries}}").touch()
        if tries == 0:
            raise ConnectionError("publisher timed out (first try)")

    @task(retries=0)
    def always_fails():
        raise ConnectionError("publisher gone")

    fails_once()
    always_fails()


flaky()
for _source in load_registry().sources.values():  # the test's registry (OBSERVATORY_REGISTRY)
    globals()[f"collect__{{_source.source_id}}"] = collection_dag(_source)
'''


def alerts_received(server: HTTPServer) -> list[dict]:
    return [request.get_json() for request, _ in server.log if request.path == "/hooks/alerts"]


def test_a_retry_that_succeeds_sends_nothing_a_failure_for_good_and_a_quarantine_send_one(
    warehouse_dsn: str, httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Real ``airflow dags test`` runs, among them a collection DAG whose batch fails its suite; the target is a
    local JSON webhook (``json://``)."""
    from observatory_dev.airflow_runner import airflow, airflow_env, migrate_metadata
    from observatory_dev.faults.payloads import eurostat_tsv

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "flaky.py").write_text(textwrap.dedent(FLAKY_DAGS.format(marker=str(tmp_path / "tries"))))
    (tmp_path / "sources.yml").write_text(
        yaml.safe_dump(
            {
                "sources": {
                    "alerts_rates": {
                        "kind": "indicators",
                        "format": "eurostat_tsv",
                        "suite": "eurostat_rates",
                        "description": "alert test",
                        "publisher": "tests",
                        "urls": [httpserver.url_for("/rates.tsv")],
                        "parse": {"dataset_code": "lfsa_ergan"},
                        "freshness": {"warn_after_hours": 24, "error_after_hours": 48},
                        "retries": 0,
                    }
                }
            }
        )
    )
    lines = eurostat_tsv(geos=1).decode().splitlines()
    bad = "\n".join([lines[0], "A,PC,T,Y20-64,NAT,AT\t170.4 \t71.0 ", *lines[2:]]) + "\n"
    httpserver.expect_request("/rates.tsv", method="GET").respond_with_data(
        bad, content_type="text/tab-separated-values"
    )
    httpserver.expect_request("/hooks/alerts", method="POST").respond_with_data("ok")
    env = airflow_env(
        warehouse_dsn,
        {
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "OBSERVATORY_REGISTRY": str(tmp_path / "sources.yml"),
            "OBSERVATORY_LANDING_DIR": str(tmp_path / "landing"),
            "OBSERVATORY_NOTIFY_URLS": f"json://127.0.0.1:{httpserver.port}/hooks/alerts",
            "OBSERVATORY_NOTIFY_LOG": str(tmp_path / "notifications.log"),
        },
    )
    migrate_metadata(env)
    flaky = airflow(["dags", "test", "flaky", "2026-06-01T00:00:00+00:00"], env)
    output = flaky.stdout[-3000:] + flaky.stderr[-3000:]
    assert sorted(path.name for path in (tmp_path / "tries").glob("*")) == ["try0", "try1"], output
    assert "observatory failure: dag=flaky step=fails_once" in flaky.stdout + flaky.stderr  # the retry's summary
    [sent] = alerts_received(httpserver) or [output]  # for the task that failed for good, none for the retried one
    assert sent["title"] == "Observatory: flaky: task failed"
    body = sent["message"].splitlines()
    assert body[:3] == ["source: flaky", "batch: none", "reason: ConnectionError: publisher gone"]
    assert body[3].startswith("log: ") and "/dags/flaky/runs/" in body[3] and "/tasks/always_fails" in body[3]

    collect = airflow(["dags", "test", "collect__alerts_rates", "2026-06-01T00:00:00+00:00"], env)
    received = alerts_received(httpserver)
    assert len(received) == 2, collect.stdout[-4000:] + collect.stderr[-4000:]
    quarantined = received[1]
    assert quarantined["title"] == "Observatory: alerts_rates: batch quarantined"
    body = quarantined["message"].splitlines()
    assert body[:2] == ["source: alerts_rates", "batch: alerts_rates__20260601_000000"]
    assert body[2].startswith("reason: batch alerts_rates__20260601_000000 failed suite 'eurostat_rates'")
    assert "/dags/collect__alerts_rates/runs/" in body[3] and "/tasks/validate" in body[3]
    assert "evidence: quarantine.alerts_rates__20260601_000000" in body
    assert not (tmp_path / "notifications.log").exists()
