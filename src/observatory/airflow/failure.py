"""What a failed task says where the engineer looks: one summary line at the end of its log, a note on its run.

The summary line (``observatory failure: source=… batch=… step=… reason=… evidence=…``) names the quarantine
table, the rejected-record count and the landing files of the batch, read from the warehouse's audit tables. It is
logged by ``on_retry_callback`` and ``on_failure_callback``, which Airflow runs after the traceback, so it is the
last line of every failed try's log.

The run note (shown on the run's page) is set through Airflow's REST API when ``OBSERVATORY_AIRFLOW_API_URL`` is
set (``make up`` sets it), as the user ``OBSERVATORY_AIRFLOW_USER`` (default ``admin``) with the password of
``OBSERVATORY_AIRFLOW_PASSWORD`` or else of SimpleAuthManager's file ``OBSERVATORY_AIRFLOW_PASSWORD_FILE``.
A note that cannot be set is logged, never raised: the failure is what matters. Import-light, like ``notify``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from observatory.config.settings import Settings

API_URL_ENV = "OBSERVATORY_AIRFLOW_API_URL"
API_USER_ENV = "OBSERVATORY_AIRFLOW_USER"
API_PASSWORD_ENV = "OBSERVATORY_AIRFLOW_PASSWORD"
API_PASSWORD_FILE_ENV = "OBSERVATORY_AIRFLOW_PASSWORD_FILE"
COLLECT_PREFIX = "collect__"
MAX_REASON_CHARS = 500
MAX_NOTE_CHARS = 1000  # the REST API's limit
API_TIMEOUT = (5.0, 15.0)
# loggers whose INFO lines bury the one that matters (GX writes ~200 per validation)
NOISY_LOGGERS = ("great_expectations", "sqlalchemy", "urllib3", "httpx")

log = logging.getLogger(__name__)


def quiet_third_party_loggers() -> None:
    """Third-party INFO noise off (WARNING and above still reach the task log), also for the loggers a library
    has already set to INFO itself (GX does so on import: see ``import_gx_quietly``)."""
    existing = [name for name in logging.Logger.manager.loggerDict if name.startswith(NOISY_LOGGERS)]
    for name in (*NOISY_LOGGERS, *existing):
        logging.getLogger(name).setLevel(logging.WARNING)


def import_gx_quietly() -> None:
    """Import Great Expectations with its INFO noise off: it logs while importing, and sets loggers of its own to
    INFO when imported, so quiet them before and after."""
    quiet_third_party_loggers()
    import great_expectations  # noqa: F401

    quiet_third_party_loggers()


def reason_of(context: Mapping[str, Any]) -> str:
    """The failure's reason in one line: exception type and the first line of its message."""
    exception = context.get("exception")
    if isinstance(exception, BaseException):
        first = (str(exception).strip().splitlines() or [""])[0]
        text = f"{type(exception).__name__}: {first}"
    else:
        text = str(exception)
    return text[:MAX_REASON_CHARS]


def batch_evidence(source_id: str, load_id: str) -> dict[str, Any]:
    """Status, quarantine table, rejected-record count and landing files of the batch (empty when the warehouse
    has no row for it)."""
    from observatory.warehouse import connection

    with connection.connect() as conn:
        row = conn.execute(
            """select status, coalesce(rejected_count, 0),
                      exists (select 1 from information_schema.tables
                              where table_schema = 'quarantine' and table_name = batch.load_id)
               from audit.batch where load_id = %s""",
            (load_id,),
        ).fetchone()
        files = [
            path
            for (path,) in conn.execute(
                "select landing_path from audit.fetch_log where load_id = %s and landing_path is not null"
                " order by fetch_id",
                (load_id,),
            )
        ]
    if row is None:
        return {}
    status, rejected, quarantined = row
    landing = Settings.from_env().landing_dir
    return {
        "status": status,
        "quarantine": f"quarantine.{load_id}" if quarantined else None,
        "rejected": rejected,
        "landing": [str(landing / path) for path in files],
    }


def summary_line(context: Mapping[str, Any]) -> str:
    """``observatory failure: source=… batch=… step=… reason=… evidence=…`` for the failed task of ``context``."""
    ti = context.get("ti")
    dag_id = str(getattr(ti, "dag_id", "") or "")
    step = getattr(ti, "task_id", None)
    reason = reason_of(context)
    if not dag_id.startswith(COLLECT_PREFIX):
        return f"observatory failure: dag={dag_id} step={step} reason={reason} evidence=this log"
    from observatory.pipeline import load_id_for

    source_id = dag_id.removeprefix(COLLECT_PREFIX)
    logical_date = context.get("logical_date")
    load_id = load_id_for(source_id, logical_date) if isinstance(logical_date, datetime) else None
    try:
        found = batch_evidence(source_id, load_id) if load_id else {}
    except Exception as exc:  # the summary must be written even when the warehouse cannot be read
        found = {"unreadable": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    evidence = [
        f"quarantine table {found['quarantine']}" if found.get("quarantine") else "no quarantine table",
        f"rejected records {found.get('rejected', 0)} (audit.rejected_record where load_id = '{load_id}')",
        "landing " + (", ".join(found["landing"]) if found.get("landing") else "none"),
    ]
    if "unreadable" in found:
        evidence = [f"audit tables unreadable ({found['unreadable']})"]
    status = f" status={found['status']}" if found.get("status") else ""
    return (
        f"observatory failure: source={source_id} batch={load_id}{status} step={step} reason={reason} "
        f"evidence={'; '.join(evidence)}"
    )


def log_summary(line: str) -> None:
    """Log the summary line as the last line of the task's log. The task runner calls callbacks inside its
    collapsed "Post Execute" log group: close it first, so the UI shows the line without unfolding anything."""
    log.info("::endgroup::")
    log.error(line)


def note_failed_run(context: Mapping[str, Any], text: str) -> bool:
    """Set ``text`` as the note of the failed task's run through the REST API; returns whether it was set."""
    base_url = os.environ.get(API_URL_ENV)
    ti = context.get("ti")
    dag_id, run_id = getattr(ti, "dag_id", None), getattr(ti, "run_id", None) or context.get("run_id")
    if not base_url or not dag_id or not run_id:
        return False
    import requests

    try:
        token = requests.post(
            f"{base_url}/auth/token",
            json={"username": os.environ.get(API_USER_ENV, "admin"), "password": _api_password()},
            timeout=API_TIMEOUT,
        )
        token.raise_for_status()
        answer = requests.patch(
            f"{base_url}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
            params={"update_mask": "note"},
            json={"note": text[:MAX_NOTE_CHARS]},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=API_TIMEOUT,
        )
        answer.raise_for_status()
    except (requests.RequestException, KeyError, OSError, ValueError) as exc:
        log.warning("could not set the note of run %s of %s: %s", run_id, dag_id, type(exc).__name__)
        return False
    return True


def _api_password() -> str:
    password = os.environ.get(API_PASSWORD_ENV)
    if password:
        return password
    user = os.environ.get(API_USER_ENV, "admin")
    return json.loads(Path(os.environ[API_PASSWORD_FILE_ENV]).read_text())[user]


def on_retry_callback(context: Mapping[str, Any]) -> None:
    """Airflow ``on_retry_callback``: the failed try's log ends with its summary line."""
    log_summary(summary_line(context))
