"""The daily data-health summary: per registry entry, freshness, the last validation, quarantined batches and the
records the parser rejected in the last batch (``audit.rejected_record``).

Written to ``audit.data_health`` (one row per day and entry; recomputing a day replaces that day's rows) by the
``data_health`` DAG after ``dbt source freshness``, and printed by ``observatory health`` and the demo. A value
that cannot be known yet is NULL and ``note`` says why.

``health_status``: ``error`` when dbt reports the entry past its error threshold or its last batch was
quarantined or failed; ``warn`` past the warn threshold, or a batch quarantined in the last 7 days;
``unknown`` when the entry has no successful batch or no freshness result yet; ``ok`` otherwise.
"""

from __future__ import annotations

from datetime import date

import psycopg
from psycopg import sql

from observatory.config.registry import Registry, load_registry

SUMMARY_SQL = """
with entries as (
    select entry.source_id, entry.kind
    from unnest(%(source_ids)s::text[], %(kinds)s::text[]) as entry (source_id, kind)
)

select
    entries.source_id,
    entries.kind,
    freshness.status,
    freshness.checked_at,
    success.last_success_at,
    round((extract(epoch from now() - success.last_success_at) / 3600)::numeric, 2),
    last_batch.load_id,
    last_batch.status,
    validation.load_id,
    validation.failed,
    validation.evaluated,
    quarantined.last_7_days,
    quarantined.total,
    last_batch.rejected_count
from entries
left join lateral (
    select source_freshness.status, source_freshness.checked_at
    from audit.source_freshness
    where source_freshness.source_id = entries.source_id
    order by source_freshness.checked_at desc
    limit 1
) as freshness on true
left join lateral (
    select max(batch.finished_at) as last_success_at
    from audit.batch
    where batch.source_id = entries.source_id and batch.status in ('published', 'unchanged')
) as success on true
left join lateral (
    select batch.load_id, batch.status, batch.rejected_count
    from audit.batch
    where batch.source_id = entries.source_id
    order by batch.started_at desc
    limit 1
) as last_batch on true
left join lateral (
    select
        result.load_id,
        count(*) filter (where not result.success) as failed,
        count(*) as evaluated
    from audit.validation_result as result
    inner join audit.batch on result.load_id = batch.load_id
    where batch.source_id = entries.source_id
    group by result.load_id
    order by max(result.validated_at) desc
    limit 1
) as validation on true
left join lateral (
    select
        count(*) filter (
            where batch.logical_date >= %(day)s::date - 6 and batch.logical_date < %(day)s::date + 1
        ) as last_7_days,
        count(*) as total
    from audit.batch
    where batch.source_id = entries.source_id and batch.status = 'quarantined'
) as quarantined on true
order by entries.source_id
"""

COLUMNS = (
    "source_id",
    "kind",
    "freshness_status",
    "freshness_checked_at",
    "last_success_at",
    "hours_since_success",
    "last_batch_load_id",
    "last_batch_status",
    "last_validated_load_id",
    "expectations_failed",
    "expectations_evaluated",
    "quarantined_last_7_days",
    "quarantined_total",
    "rejected_last_batch",
)


def health_status(row: dict) -> tuple[str, str | None]:
    """The entry's overall status and a note on what is not known yet."""
    missing = []
    if row["last_success_at"] is None:
        missing.append("no batch published yet")
    if row["freshness_status"] is None:
        missing.append("freshness not checked yet (the data_health DAG runs dbt source freshness)")
    if row["last_validated_load_id"] is None:
        missing.append("no batch validated yet")
    note = "; ".join(missing) or None
    if row["freshness_status"] in ("error", "runtime error") or row["last_batch_status"] in ("quarantined", "failed"):
        return "error", note
    if row["freshness_status"] == "warn" or row["quarantined_last_7_days"]:
        return "warn", note
    if row["last_success_at"] is None or row["freshness_status"] is None:
        return "unknown", note
    return "ok", note


def write_daily_summary(conn: psycopg.Connection, day: date, registry: Registry | None = None) -> list[dict]:
    """Recompute ``audit.data_health`` for ``day`` from the audit tables; returns the rows written."""
    sources = sorted((registry or load_registry()).sources.values(), key=lambda source: source.source_id)
    params = {"source_ids": [s.source_id for s in sources], "kinds": [s.kind for s in sources], "day": day}
    rows = [dict(zip(COLUMNS, values, strict=True)) for values in conn.execute(SUMMARY_SQL, params).fetchall()]
    for row in rows:
        row["health_status"], row["note"] = health_status(row)
    with conn.transaction():
        conn.execute("delete from audit.data_health where health_date = %s", (day,))
        names = ["health_date", *COLUMNS, "health_status", "note"]
        insert = sql.SQL("insert into audit.data_health ({}) values ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, names)), sql.SQL(", ").join(sql.Placeholder() * len(names))
        )
        with conn.cursor() as cursor:
            cursor.executemany(insert, [(day, *(row[name] for name in names[1:])) for row in rows])
    return rows


def latest_summary(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        """
        select health_date, source_id, health_status, freshness_status, last_success_at, expectations_failed,
               expectations_evaluated, quarantined_last_7_days, rejected_last_batch, note
        from audit.data_health
        where health_date = (select max(health_date) from audit.data_health)
        order by source_id
        """
    ).fetchall()


def print_health(conn: psycopg.Connection) -> None:
    """One line per registry entry: ``health <source_id> status=... freshness=... ...``."""
    rows = latest_summary(conn)
    if not rows:
        print("health: no data-health summary yet (run the data_health DAG)")
        return
    print(f"Data health on {rows[0][0]} (audit.data_health)")
    for _, source_id, status, freshness, last_success, failed, evaluated, quarantined, rejected, note in rows:
        success = "never" if last_success is None else last_success.strftime("%Y-%m-%dT%H:%MZ")
        validation = "n/a" if evaluated is None else f"{failed}/{evaluated}"
        print(
            f"health {source_id} status={status} freshness={freshness or 'n/a'} last_success={success} "
            f"failed_expectations={validation} quarantined_7d={quarantined} "
            f"rejected={'n/a' if rejected is None else rejected}" + (f"  ({note})" if note else "")
        )
