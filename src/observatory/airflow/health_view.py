"""The "Observatory" page of the Airflow UI: per source, the latest ``audit.data_health`` row, with links to the
source's collection DAG and to the evidence (the records the parser rejected, the last quarantined batch).

A FastAPI app that the plugin ``plugins/observatory_view.py`` mounts on the api-server at ``/observatory``:

- ``GET /observatory/``: the HTML table (shown inside the UI under the "Observatory" navigation link);
- ``GET /observatory/health``: the same rows as JSON (``{"health_date": ..., "rows": [...]}``);
- ``GET /observatory/sources/<source_id>/rejected``: the source's last batch's ``audit.rejected_record`` rows and
  its last quarantined batch with the row count of its ``quarantine.<load_id>`` table.

Airflow does not authenticate a plugin's app (it is mounted, so the core API's router dependency never reaches it):
every route here requires the api-server's own login (``airflow.api_fastapi.core_api.security.get_user``: the UI's
session cookie or a bearer token from ``/auth/token``), or answers 401.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from psycopg import sql
from psycopg.rows import dict_row

from observatory.warehouse import connection

URL_PREFIX = "/observatory"
REJECTED_LIMIT = 100
# columns of audit.data_health in the page's order, with their headings
COLUMNS = (
    ("source_id", "Source"),
    ("health_status", "Status"),
    ("freshness_status", "Freshness"),
    ("hours_since_success", "Hours since success"),
    ("last_success_at", "Last success"),
    ("last_batch_load_id", "Last batch"),
    ("last_batch_status", "Last batch status"),
    ("expectations_failed", "Failed expectations"),
    ("quarantined_last_7_days", "Quarantined (7 days)"),
    ("quarantined_total", "Quarantined (all)"),
    ("rejected_last_batch", "Rejected (last batch)"),
    ("note", "Note"),
)
HEALTH_SQL = """
select *
from audit.data_health
where health_date = (select max(health_date) from audit.data_health)
order by source_id
"""
REJECTED_SQL = """
select load_id, resource, location, reason, raw_record, recorded_at
from audit.rejected_record
where load_id = (select load_id from audit.batch where source_id = %s order by started_at desc limit 1)
order by recorded_at, location
limit %s
"""
QUARANTINED_SQL = """
select load_id, message, finished_at
from audit.batch
where source_id = %s and status = 'quarantined'
order by started_at desc
limit 1
"""
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1rem; color: #1f2328; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.ok { background: #dafbe1; } .warn { background: #fff8c5; } .error { background: #ffebe9; }
.unknown { background: #eaeef2; }
"""


def jsonable(value: Any) -> Any:
    """A warehouse value as JSON: timestamps and dates in ISO 8601, numerics as numbers."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def health_payload(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON body of ``/health``: the rows' day and the rows (every column of ``audit.data_health``)."""
    return {
        "health_date": jsonable(rows[0]["health_date"]) if rows else None,
        "rows": [{name: jsonable(value) for name, value in row.items()} for row in rows],
    }


def cell(name: str, value: Any) -> str:
    if name == "source_id":
        source = html.escape(str(value))
        return (
            f'<td><b>{source}</b><br><a href="../dags/collect__{source}" target="_top">DAG</a> · '
            f'<a href="sources/{source}/rejected">evidence</a></td>'
        )
    if value is None:
        return "<td>–</td>"
    if isinstance(value, datetime):
        value = value.strftime("%Y-%m-%d %H:%M UTC")
    return f"<td>{html.escape(str(jsonable(value)))}</td>"


def render_page(rows: Sequence[Mapping[str, Any]]) -> str:
    """The HTML page: one table row per source, coloured by its health status; links relative to the page."""
    if rows:
        title = f"Data health on {rows[0]['health_date']}"
        head = "".join(f"<th>{html.escape(heading)}</th>" for _, heading in COLUMNS)
        body = "".join(
            f'<tr class="{html.escape(str(row["health_status"]))}" data-source="{html.escape(str(row["source_id"]))}">'
            + "".join(cell(name, row.get(name)) for name, _ in COLUMNS)
            + "</tr>"
            for row in rows
        )
        content = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    else:
        title = "Data health"
        content = "<p>No data-health summary yet: run the <code>data_health</code> DAG.</p>"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Observatory: {title}</title>'
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
        f'<p>From <code>audit.data_health</code>; <a href="health">JSON</a>.</p>{content}</body></html>'
    )


def health_rows(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The latest day's ``audit.data_health`` rows, by source id."""
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(HEALTH_SQL).fetchall()


def evidence(conn: psycopg.Connection, source_id: str) -> dict[str, Any]:
    """The source's rejected records (its last batch's) and its last quarantined batch with its row count."""
    with conn.cursor(row_factory=dict_row) as cursor:
        rejected = cursor.execute(REJECTED_SQL, (source_id, REJECTED_LIMIT)).fetchall()
        quarantined = cursor.execute(QUARANTINED_SQL, (source_id,)).fetchone()
        if quarantined is not None:
            table = sql.Identifier("quarantine", quarantined["load_id"])
            [found] = connection.one_row(conn.execute("select to_regclass(%s) is not null", (table.as_string(conn),)))
            count = sql.SQL("select count(*) from {}").format(table)
            quarantined["table"] = f"quarantine.{quarantined['load_id']}"
            quarantined["rows"] = connection.one_row(conn.execute(count))[0] if found else None
    return {
        "source_id": source_id,
        "dag": f"/dags/collect__{source_id}",
        "rejected": [{name: jsonable(value) for name, value in row.items()} for row in rejected],
        "last_quarantined_batch": {k: jsonable(v) for k, v in quarantined.items()} if quarantined else None,
    }


async def require_login(request: Request) -> None:
    """The api-server's own authentication (session cookie or bearer token); 401/403 otherwise."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    await get_user(request, None, await bearer_scheme(request))


def create_app(connect: Callable[[], psycopg.Connection] | None = None) -> FastAPI:
    """The page's app; ``connect`` opens a warehouse connection (default: the warehouse in use)."""
    opener = connect or connection.connect
    app = FastAPI(title="Observatory data health", dependencies=[Depends(require_login)], docs_url=None)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        with opener() as conn:
            return render_page(health_rows(conn))

    @app.get("/health")
    def health() -> dict[str, Any]:
        with opener() as conn:
            return health_payload(health_rows(conn))

    @app.get("/sources/{source_id}/rejected")
    def rejected(source_id: str) -> dict[str, Any]:
        with opener() as conn:
            return evidence(conn, source_id)

    return app
