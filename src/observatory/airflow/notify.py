"""Tell someone when a task has failed for good: ``on_failure_callback`` for every collection DAG's tasks.

The target is configured by the environment:

- ``OBSERVATORY_NOTIFY_URL``: a webhook; the notification is POSTed as JSON (its ``text`` field is one readable
  line, so Slack- or Mattermost-style incoming webhooks show it as is);
- otherwise, or when the webhook cannot be reached or answers with an error, one JSON line is appended to
  ``OBSERVATORY_NOTIFY_LOG`` (default ``.local/notifications.log``), so a notification is never lost silently.

The webhook URL may hold a token: it is never written to the log. Import-light (Airflow imports it while
parsing DAG files): ``requests`` is imported when a notification is sent.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from observatory.config.settings import Settings

URL_ENV = "OBSERVATORY_NOTIFY_URL"
LOG_ENV = "OBSERVATORY_NOTIFY_LOG"
WEBHOOK_TIMEOUT = (5.0, 10.0)  # connect, read seconds
MAX_ERROR_CHARS = 2000

log = logging.getLogger(__name__)


def notification_log() -> Path:
    """Where notifications go when there is no webhook (or it failed)."""
    return Path(os.environ.get(LOG_ENV, Settings.from_env().local_dir / "notifications.log"))


def failure_notification(context: Mapping[str, Any]) -> dict[str, Any]:
    """The notification for a failed task, from its Airflow context."""
    ti = context.get("ti")
    dag_id = getattr(ti, "dag_id", None)
    task_id = getattr(ti, "task_id", None)
    run_id = getattr(ti, "run_id", None) or context.get("run_id")
    logical_date = context.get("logical_date")
    exception = context.get("exception")
    error = f"{type(exception).__name__}: {exception}" if isinstance(exception, BaseException) else str(exception)
    error = error[:MAX_ERROR_CHARS]
    return {
        "event": "task_failed",
        "dag_id": dag_id,
        "task_id": task_id,
        "run_id": run_id,
        "logical_date": logical_date.isoformat() if isinstance(logical_date, datetime) else logical_date,
        "try_number": getattr(ti, "try_number", None),
        "error": error,
        "log_url": getattr(ti, "log_url", None),
        "notified_at": datetime.now(UTC).isoformat(),
        "text": f"Observatory: task {dag_id}.{task_id} failed (run {run_id}): {error}",
    }


def send_notification(notification: dict[str, Any]) -> str:
    """Deliver to the webhook if one is configured, else (or if it fails) to the log file; returns where it went
    (``"webhook"`` or the log file's path)."""
    url = os.environ.get(URL_ENV)
    if url:
        problem = _post(url, notification)
        if problem is None:
            return "webhook"
        log.warning(
            "failure notification not delivered to the webhook (%s); writing it to %s", problem, notification_log()
        )
        notification = {**notification, "webhook_error": problem}
    path = notification_log()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps(notification, ensure_ascii=False, default=str) + "\n")
    return str(path)


def _post(url: str, notification: dict[str, Any]) -> str | None:
    """POST the notification; None when the webhook accepted it, else what went wrong (without the URL)."""
    import requests

    try:
        response = requests.post(url, json=notification, timeout=WEBHOOK_TIMEOUT)
    except requests.RequestException as exc:
        return type(exc).__name__
    if response.status_code >= 400:
        return f"HTTP {response.status_code}"
    return None


def on_failure_callback(context: Mapping[str, Any]) -> None:
    """Airflow ``on_failure_callback``: send the failed task's notification (see the module docstring), note the
    reason on the run (``observatory.airflow.failure``) and end the task's log with the summary line."""
    from observatory.airflow.failure import log_summary, note_failed_run, summary_line

    target = send_notification(failure_notification(context))
    log.info("failure notification sent to %s", target)
    line = summary_line(context)
    note_failed_run(context, line)
    log_summary(line)
