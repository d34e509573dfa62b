"""Rows → warehouse with ``COPY``, as write-audit-publish:

1. ``stage_rows``: COPY a batch into its own table ``stage.<load_id>`` (same columns as its raw table);
2. the quality gate audits that table (``observatory.quality``);
3. ``publish_batch``: in ONE transaction, replace the source's rows in ``raw.<table>`` by the batch; or
   ``quarantine_batch``: move the table to ``quarantine`` with the reason. Raw tables only ever hold
   audited batches, and a rerun of the same load replaces exactly the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg import sql

from observatory.raw_tables import RAW_TABLES, RawTable


def stage_table(load_id: str) -> sql.Composed:
    return sql.SQL("stage.{}").format(sql.Identifier(load_id))


def stage_rows(conn: psycopg.Connection, load_id: str, source_id: str, raw_table: str,
               rows: Iterable[tuple]) -> int:
    """(Re)create ``stage.<load_id>`` and COPY ``rows`` into it; returns the row count."""
    table = RAW_TABLES[raw_table]
    target = stage_table(load_id)
    conn.execute(sql.SQL("drop table if exists {}").format(target))
    conn.execute(sql.SQL("create table {} (like raw.{} including defaults)").format(
        target, sql.Identifier(table.name)))
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in ("load_id", "source_id", *table.column_names))
    count = 0
    with conn.cursor().copy(sql.SQL("copy {} ({}) from stdin").format(target, columns)) as copy:
        for row in rows:
            copy.write_row((load_id, source_id, *row))
            count += 1
    return count


def publish_batch(conn: psycopg.Connection, load_id: str, source_id: str, raw_table: str) -> int:
    """Replace the source's published rows by the staged batch, atomically; returns rows published."""
    table: RawTable = RAW_TABLES[raw_table]
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (source_id,))
        conn.execute(sql.SQL("delete from raw.{} where source_id = %s").format(sql.Identifier(table.name)),
                     (source_id,))
        columns = sql.SQL(", ").join(
            sql.Identifier(name) for name in ("load_id", "source_id", *table.column_names))
        published = conn.execute(sql.SQL("insert into raw.{} ({}) select {} from {}").format(
            sql.Identifier(table.name), columns, columns, stage_table(load_id))).rowcount
        conn.execute(sql.SQL("drop table {}").format(stage_table(load_id)))
        conn.execute(
            """update audit.batch set status = 'published', row_count = %s, finished_at = now(), message = null
               where load_id = %s""",
            (published, load_id),
        )
    return published


def quarantine_batch(conn: psycopg.Connection, load_id: str, reason: str) -> None:
    """Move the staged batch to ``quarantine.<load_id>`` and record why; raw tables are untouched."""
    with conn.transaction():
        conn.execute(sql.SQL("drop table if exists quarantine.{}").format(sql.Identifier(load_id)))
        conn.execute(sql.SQL("alter table {} set schema quarantine").format(stage_table(load_id)))
        conn.execute(
            "update audit.batch set status = 'quarantined', message = %s, finished_at = now() where load_id = %s",
            (reason, load_id),
        )
