"""Alerts that reach a person: a task failed for good, a batch quarantined, a source past its freshness error
threshold. One message per event, naming the source, the batch, the reason and the log link.

Targets are apprise URLs (https://github.com/caronc/apprise/wiki): ``OBSERVATORY_NOTIFY_URLS``, one or more,
comma or space separated (``mailtos://alerts:changeme@smtp.example.org?to=ops@example.org``, ``slack://…``,
``json://host/path``…). The older ``OBSERVATORY_NOTIFY_URL`` (an ``http(s)://`` webhook) still works: it is sent
as apprise's JSON webhook (``json(s)://``), whose body carries ``title`` and ``message``.

Nothing is lost silently: without a target, or when a target cannot be reached, the alert is appended as one JSON
line to ``OBSERVATORY_NOTIFY_LOG`` (default ``.local/notifications.log``) with what went wrong. URLs may hold
secrets: they are never logged (apprise's own logger, which names them, is silenced while sending; what went
wrong is logged by target number and scheme).

Each event is sent once: it is recorded in ``audit.notification`` (kind, source, key: the batch for a quarantine,
the day for freshness, the task try's run for a failure) before it is sent; an event already there is skipped.

Fired by ``on_failure_callback`` (never on a retry), by the collection DAGs' ``validate`` step when it quarantines
a batch, and by ``observatory.quality.freshness`` after ``dbt source freshness``. Import-light (Airflow imports it
while parsing DAG files): apprise and psycopg are imported when an alert is sent.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from observatory.config.settings import Settings

URLS_ENV = "OBSERVATORY_NOTIFY_URLS"
LEGACY_URL_ENV = "OBSERVATORY_NOTIFY_URL"
LOG_ENV = "OBSERVATORY_NOTIFY_LOG"
FRESHNESS_TASK = "dbt_source_freshness"
HEALTH_DAG = "data_health"
TITLES = {
    "task_failed": "task failed",
    "quarantine": "batch quarantined",
    "freshness": "source past its freshness error threshold",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    """One event to tell someone about; ``(kind, source, key)`` identifies it."""

    kind: str
    source: str
    key: str
    batch: str | None
    reason: str
    log_url: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"Observatory: {self.source}: {TITLES[self.kind]}"

    @property
    def body(self) -> str:
        lines = [
            f"source: {self.source}",
            f"batch: {self.batch or 'none'}",
            f"reason: {self.reason}",
            f"log: {self.log_url or 'unknown'}",
        ]
        return "\n".join(lines + [f"{name}: {value}" for name, value in self.detail.items()])


def notify_urls() -> list[str]:
    """The apprise URLs configured (``OBSERVATORY_NOTIFY_URLS``, then the legacy ``OBSERVATORY_NOTIFY_URL``)."""
    urls = re.split(r"[,\s]+", os.environ.get(URLS_ENV, "").strip())
    legacy = os.environ.get(LEGACY_URL_ENV, "").strip()
    if legacy:
        urls.append(re.sub(r"^http(s?)://", r"json\1://", legacy))
    return [url for url in urls if url]


def notification_log() -> Path:
    """Where alerts go when there is no target (or one failed)."""
    return Path(os.environ.get(LOG_ENV, Settings.from_env().local_dir / "notifications.log"))


def deliver(alert: Alert) -> str:
    """Send ``alert`` to every configured target; to the log file too when there is none or one failed. Returns
    where it went (``"apprise"`` and/or the log file's path)."""
    problems: list[str] = []
    urls = notify_urls()
    if urls:
        apprise_log = logging.getLogger("apprise")
        level = apprise_log.level
        apprise_log.setLevel(logging.CRITICAL + 1)  # apprise's lines name the URLs (an unparseable one in full)
        try:
            import apprise

            for number, url in enumerate(urls, 1):
                scheme = url.split("://", 1)[0] if "://" in url else "?"
                target = apprise.Apprise()
                if not target.add(url):
                    problems.append(f"target {number} ({scheme}): not an apprise URL")
                elif not target.notify(title=alert.title, body=alert.body):
                    problems.append(f"target {number} ({scheme}): not delivered")
        finally:
            apprise_log.setLevel(level)
        if not problems:
            return "apprise"
        log.warning(
            "alert not delivered to every target (%s); writing it to %s", "; ".join(problems), notification_log()
        )
    path = notification_log()
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**asdict(alert), "title": alert.title, "text": alert.body, "notified_at": datetime.now(UTC).isoformat()}
    if problems:
        record["delivery_errors"] = problems
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    return f"apprise and {path}" if len(problems) < len(urls) else str(path)


def claim(alert: Alert) -> bool:
    """Record ``alert`` in ``audit.notification``; False when the same event was sent before. When the warehouse
    cannot be read the alert is sent anyway: a duplicate is better than a lost alert."""
    from observatory.warehouse import connection

    try:
        with connection.connect() as conn:
            row = conn.execute(
                """insert into audit.notification (kind, source_id, event_key, batch, reason, log_url)
                   values (%s, %s, %s, %s, %s, %s) on conflict do nothing returning 1""",
                (alert.kind, alert.source, alert.key, alert.batch, alert.reason, alert.log_url),
            ).fetchone()
    except Exception as exc:  # the alert matters more than its bookkeeping
        log.warning("could not record the alert in audit.notification (%s); sending it", type(exc).__name__)
        return True
    return row is not None


def notify(alert: Alert) -> str | None:
    """Send ``alert`` once (see ``claim``); returns where it went, None when it had been sent already."""
    if not claim(alert):
        log.info("alert %s for %s (%s) was sent already", alert.kind, alert.source, alert.key)
        return None
    target = deliver(alert)
    log.info("alert %s for %s sent to %s", alert.kind, alert.source, target)
    return target


def quarantine_alert(source_id: str, load_id: str, reason: str, log_url: str | None) -> Alert | None:
    """The alert for a quarantined batch, None when ``audit.batch`` does not say the batch is quarantined."""
    from observatory.airflow.failure import batch_evidence

    evidence = batch_evidence(source_id, load_id)
    if evidence.get("status") != "quarantined":
        return None
    detail = {"evidence": evidence["quarantine"] or "audit.batch"} if evidence.get("quarantine") else {}
    return Alert("quarantine", source_id, load_id, load_id, reason, log_url, detail)


def stale_alerts(run_id: str, day: date, log_url: str | None) -> list[Alert]:
    """One alert per source that ``dbt source freshness`` found past its error threshold in the data-health run
    ``run_id``, keyed by ``day`` (so a source is reported once a day); the batch is its last published one."""
    from observatory.warehouse import connection

    with connection.connect() as conn:
        rows = conn.execute(
            """select freshness.source_id, freshness.age_hours, freshness.error_after_hours, freshness.max_loaded_at,
                      (select batch.load_id from audit.batch where batch.source_id = freshness.source_id
                       and batch.status in ('published', 'unchanged') order by batch.logical_date desc limit 1)
               from audit.source_freshness as freshness
               where freshness.run_id = %s and freshness.status = 'error' order by freshness.source_id""",
            (run_id,),
        ).fetchall()
    return [
        Alert("freshness", source_id, day.isoformat(), batch, freshness_reason(age, error_after, loaded_at), log_url)
        for source_id, age, error_after, loaded_at, batch in rows
    ]


def freshness_reason(age_hours: Any, error_after_hours: Any, loaded_at: datetime | None) -> str:
    """``last loaded 78.0 h ago (2026-05-29T00:00:00+00:00), error threshold 48 h`` (or ``never loaded, …``)."""
    threshold = f"error threshold {error_after_hours} h"
    if loaded_at is None or age_hours is None or loaded_at.year == 1:  # dbt's max_loaded_at of an empty table
        return f"never loaded, {threshold}"
    return f"last loaded {float(age_hours):.1f} h ago ({loaded_at.astimezone(UTC).isoformat()}), {threshold}"


def notify_stale_sources(context: Mapping[str, Any]) -> int:
    """After ``dbt source freshness`` stored its results: alert on every source past its error threshold, once
    per source and day (the run's logical date, else today). Returns how many alerts were sent."""
    ti = context.get("ti")
    run_id = str(getattr(ti, "run_id", None) or context.get("run_id") or "manual")
    alerts = stale_alerts(run_id, health_day(context), getattr(ti, "log_url", None))
    return sum(notify(alert) is not None for alert in alerts)


def health_day(context: Mapping[str, Any]) -> date:
    """The day a data-health run checks: its logical date, else today (UTC)."""
    logical_date = context.get("logical_date")
    return logical_date.date() if isinstance(logical_date, datetime) else datetime.now(UTC).date()


def failure_alerts(context: Mapping[str, Any], summary: str) -> list[Alert]:
    """What a task that failed for good is about: its batch's quarantine, the stale sources of a data-health run,
    or else the failure itself (keyed by DAG, task and run)."""
    from observatory.airflow.failure import COLLECT_PREFIX, reason_of

    ti = context.get("ti")
    dag_id, task_id = str(getattr(ti, "dag_id", "") or ""), str(getattr(ti, "task_id", "") or "")
    run_id = str(getattr(ti, "run_id", None) or context.get("run_id") or "")
    log_url = getattr(ti, "log_url", None)
    reason = reason_of(context)
    logical_date = context.get("logical_date")
    source_id, load_id = dag_id, None
    try:
        if dag_id.startswith(COLLECT_PREFIX) and isinstance(logical_date, datetime):
            from observatory.pipeline import load_id_for

            source_id = dag_id.removeprefix(COLLECT_PREFIX)
            load_id = load_id_for(source_id, logical_date)
            quarantined = quarantine_alert(source_id, load_id, reason, log_url)
            if quarantined:
                return [quarantined]
        if dag_id == HEALTH_DAG and task_id == FRESHNESS_TASK:
            stale = stale_alerts(run_id, health_day(context), log_url)
            if stale:
                return stale
    except Exception as exc:  # the failure must be reported even when the warehouse cannot be read
        log.warning("could not read the audit tables for the alert: %s", type(exc).__name__)
    detail = {"task": f"{dag_id}.{task_id}", "run": run_id, "try": getattr(ti, "try_number", None), "summary": summary}
    return [Alert("task_failed", source_id, f"{dag_id}/{task_id}/{run_id}", load_id, reason, log_url, detail)]


def on_failure_callback(context: Mapping[str, Any]) -> None:
    """Airflow ``on_failure_callback`` (a task failed for good, never called for a try that is retried): alert
    (see the module docstring), note the reason on the run and end the task's log with the summary line."""
    from observatory.airflow.failure import log_summary, note_failed_run, summary_line

    line = summary_line(context)
    for alert in failure_alerts(context, line):
        notify(alert)
    note_failed_run(context, line)
    log_summary(line)
