"""Rows → warehouse with ``COPY``, as write-audit-publish:

1. ``stage_rows`` (tuples) or ``stage_arrays`` (a parser's bulk output): COPY a batch into its own table
   ``stage.<load_id>`` (same columns as its raw table; unlogged, as it is rebuilt when a task reruns);
2. the quality gate audits that table (``observatory.quality.gate``);
3. ``publish_batch``: in ONE transaction, replace the source's rows in ``raw.<table>`` by the batch; or
   ``quarantine_batch``: move the table to ``quarantine`` with the reason. Raw tables only ever hold
   audited batches, and a rerun of the same load replaces exactly the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from observatory.parse.arrays import ArrayBatch
from observatory.warehouse.connection import one_row
from observatory.warehouse.raw_tables import RAW_TABLES, RawTable

BINARY_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension length
BINARY_COPY_TRAILER = b"\xff\xff"


def stage_table(load_id: str) -> sql.Composed:
    return sql.SQL("stage.{}").format(sql.Identifier(load_id))


def create_stage_table(conn: psycopg.Connection, load_id: str, source_id: str, table: RawTable) -> sql.Composed:
    """(Re)create ``stage.<load_id>`` like the raw table, with the batch's load and source ids as defaults."""
    target = stage_table(load_id)
    if not one_row(conn.execute("select pg_try_advisory_xact_lock(hashtextextended(%s, 0))", (load_id,)))[0]:
        raise RuntimeError(f"batch {load_id} is already being staged by another run; retry when it has finished")
    conn.execute(sql.SQL("drop table if exists {}").format(target))
    conn.execute(
        sql.SQL("create unlogged table {} (like raw.{} including defaults)").format(target, sql.Identifier(table.name))
    )
    conn.execute(
        sql.SQL("alter table {} alter column load_id set default {}, alter column source_id set default {}").format(
            target, sql.Literal(load_id), sql.Literal(source_id)
        )
    )
    return target


def stage_rows(conn: psycopg.Connection, load_id: str, source_id: str, raw_table: str, rows: Iterable[tuple]) -> int:
    """(Re)create ``stage.<load_id>`` and COPY ``rows`` (in the raw table's column order) into it; returns
    the row count."""
    table = RAW_TABLES[raw_table]
    target = create_stage_table(conn, load_id, source_id, table)
    cursor = conn.cursor()
    with cursor.copy(sql.SQL("copy {} ({}) from stdin").format(target, _names(table.column_names))) as copy:
        for row in rows:
            copy.write_row(row)
    return cursor.rowcount


def stage_arrays(
    conn: psycopg.Connection, load_id: str, source_id: str, raw_table: str, batches: Iterable[ArrayBatch]
) -> int:
    """(Re)create ``stage.<load_id>`` and load every batch into it; returns the row count.

    A batch's parts, encoded in bulk as binary COPY rows, go into a temporary table of codes and numbers through
    a writer thread (so the next part is encoded while the server reads this one); then its dictionaries (read
    once the parts are, so they may grow as the parts are produced) into small temporary tables; one
    ``insert ... select`` joins them into the stage table."""
    table = RAW_TABLES[raw_table]
    target = create_stage_table(conn, load_id, source_id, table)
    return sum(_insert_batch(conn, target, table, batch) for batch in batches)


def _insert_batch(conn: psycopg.Connection, target: sql.Composed, table: RawTable, batch: ArrayBatch) -> int:
    types = dict(table.columns)
    missing = set(table.column_names) - set(batch.columns) - set(batch.constants)
    if missing:
        raise ValueError(f"array batch for raw.{table.name} lacks columns {sorted(missing)}")
    cells = sql.Identifier("stage_cells")
    _copy_cells(conn, cells, batch)
    for name, values in batch.dictionaries.items():  # after the parts: a streaming parser fills them as it goes
        _create_dictionary(conn, name, types[name], values)
    joins = [
        sql.SQL("left join {} on {}.code = c.{}").format(_dictionary(name), _dictionary(name), sql.Identifier(name))
        for name in batch.dictionaries
    ]
    inserted = conn.execute(
        sql.SQL("insert into {} ({}) select {} from {} c {}").format(
            target,
            _names(table.column_names),
            sql.SQL(", ").join(_select_expression(name, batch) for name in table.column_names),
            cells,
            sql.SQL(" ").join(joins),
        )
    ).rowcount
    conn.execute(
        sql.SQL("drop table {}").format(
            sql.SQL(", ").join([cells, *(_dictionary(name) for name in batch.dictionaries)])
        )
    )
    return inserted


def _copy_cells(conn: psycopg.Connection, cells: sql.Identifier, batch: ArrayBatch) -> None:
    """The batch's parts into a new temporary table ``cells`` (codes as integer, numbers as float8)."""
    coded = [name in batch.dictionaries for name in batch.columns]
    conn.execute(
        sql.SQL("create temporary table {} ({})").format(
            cells,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL("integer" if is_code else "float8"))
                for name, is_code in zip(batch.columns, coded, strict=True)
            ),
        )
    )
    cursor = conn.cursor()
    with cursor.copy(
        sql.SQL("copy {} ({}) from stdin (format binary)").format(cells, _names(batch.columns)),
        writer=QueuedLibpqWriter(cursor),
    ) as copy:
        copy.write(BINARY_COPY_HEADER)
        for part in batch.parts:
            copy.write(_binary_copy_rows(part, coded))
        copy.write(BINARY_COPY_TRAILER)


def _binary_copy_rows(arrays: Sequence[np.ndarray], coded: Sequence[bool]) -> bytes:
    """Rows of fixed-width fields in PostgreSQL's binary COPY layout, encoded for all rows at once: per row
    the field count, then per field its length and its big-endian value (int4 code or float8)."""
    layout = [("count", ">i2")]
    for i, is_code in enumerate(coded):
        layout += [(f"length{i}", ">i4"), (f"field{i}", ">i4" if is_code else ">f8")]
    rows = np.empty(len(arrays[0]), np.dtype(layout))
    rows["count"] = len(arrays)
    for i, array in enumerate(arrays):
        rows[f"length{i}"] = rows.dtype[f"field{i}"].itemsize
        rows[f"field{i}"] = array
    return rows.tobytes()


def _create_dictionary(conn: psycopg.Connection, name: str, pg_type: str, values: Sequence[Any]) -> None:
    dictionary = _dictionary(name)
    conn.execute(
        sql.SQL("create temporary table {} (code integer primary key, value {})").format(dictionary, sql.SQL(pg_type))
    )
    with conn.cursor().copy(sql.SQL("copy {} (code, value) from stdin").format(dictionary)) as copy:
        for code, value in enumerate(values):
            copy.write_row((code, value))
    conn.execute(sql.SQL("analyze {}").format(dictionary))


def _select_expression(name: str, batch: ArrayBatch) -> sql.Composable:
    if name in batch.constants:
        return sql.Literal(batch.constants[name])
    if name in batch.dictionaries:
        return sql.SQL("{}.value").format(_dictionary(name))
    return sql.SQL("nullif(c.{}, 'NaN')").format(sql.Identifier(name))


def _dictionary(name: str) -> sql.Identifier:
    return sql.Identifier(f"stage_dictionary_{name}")


def _names(names: Iterable[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(name) for name in names)


class BatchNotStaged(RuntimeError):
    """The batch is not (or no longer) staged: e.g. another run fetched the interval again after it was staged."""

    def __init__(self, load_id: str, status: str) -> None:
        super().__init__(f"{load_id}: batch is {status}, not staged: nothing to publish")
        self.status = status


def publish_batch(conn: psycopg.Connection, load_id: str, source_id: str, raw_table: str) -> int:
    """Replace the source's published rows by the staged batch, atomically; returns rows published. A batch
    that ``audit.batch`` records is published only while its status is ``staged`` (its row locked until the end,
    so no fetch of the interval slips in between); otherwise ``BatchNotStaged``."""
    table: RawTable = RAW_TABLES[raw_table]
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (source_id,))
        state = conn.execute("select status from audit.batch where load_id = %s for update", (load_id,)).fetchone()
        if state is not None and state[0] != "staged":
            raise BatchNotStaged(load_id, state[0])
        conn.execute(
            sql.SQL("delete from raw.{} where source_id = %s").format(sql.Identifier(table.name)), (source_id,)
        )
        columns = _names(("load_id", "source_id", *table.column_names))
        published = conn.execute(
            sql.SQL("insert into raw.{} ({}) select {} from {}").format(
                sql.Identifier(table.name), columns, columns, stage_table(load_id)
            )
        ).rowcount
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
        conn.execute(sql.SQL("alter table {} set logged").format(stage_table(load_id)))  # kept: crash-safe
        conn.execute(sql.SQL("alter table {} set schema quarantine").format(stage_table(load_id)))
        conn.execute(
            "update audit.batch set status = 'quarantined', message = %s, finished_at = now() where load_id = %s",
            (reason, load_id),
        )
