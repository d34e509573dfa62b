"""The warehouse's own schemas and tables (dbt builds everything after ``raw``).

- ``raw``: published batches, one table per parser shape (``observatory.raw_tables``).
- ``stage``: one table per batch being written and audited (write-audit-publish).
- ``quarantine``: batches that failed the quality gate, kept for inspection.
- ``audit``: the fetch log, batches, validation results.
- ``marts``: built by dbt; the only schema the read-only ``bi_reader`` role can read.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from observatory.raw_tables import RAW_TABLES

BI_ROLE = "bi_reader"

AUDIT_DDL = """
create table if not exists audit.fetch_log (
    fetch_id bigserial primary key,
    source_id text not null,
    load_id text not null,
    resource text not null,
    fetched_at timestamptz not null default now(),
    outcome text not null check (outcome in ('fetched', 'failed')),
    http_status integer,
    etag text,
    last_modified text,
    media_type text,
    content_sha256 text,
    byte_count bigint,
    landing_path text,
    message text
);
create index if not exists fetch_log_source_idx on audit.fetch_log (source_id, fetched_at);

create table if not exists audit.batch (
    load_id text primary key,
    source_id text not null,
    raw_table text not null,
    logical_date timestamptz not null,
    status text not null check (status in ('fetched', 'staged', 'published', 'quarantined', 'failed')),
    row_count bigint,
    content_sha256 text[],
    message text,
    started_at timestamptz not null default now(),
    finished_at timestamptz
);

create table if not exists audit.validation_result (
    load_id text not null,
    suite text not null,
    expectation text not null,
    column_name text,
    success boolean not null,
    observed_value text,
    validated_at timestamptz not null default now()
);
create index if not exists validation_result_load_idx on audit.validation_result (load_id);
"""


def ensure_warehouse_schema(conn: psycopg.Connection) -> None:
    """Create schemas, audit and raw tables, and the BI role; safe to run again."""
    for schema in ("raw", "stage", "quarantine", "audit", "marts"):
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    conn.execute(AUDIT_DDL)
    for table in RAW_TABLES.values():
        columns = [sql.SQL("load_id text not null"), sql.SQL("source_id text not null")]
        columns += [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(pg_type)) for name, pg_type in table.columns]
        columns.append(sql.SQL("loaded_at timestamptz not null default now()"))
        conn.execute(sql.SQL("create table if not exists raw.{} ({})").format(
            sql.Identifier(table.name), sql.SQL(", ").join(columns)))
        conn.execute(sql.SQL("create index if not exists {} on raw.{} (source_id)").format(
            sql.Identifier(f"{table.name}_source_idx"), sql.Identifier(table.name)))
    ensure_bi_role(conn)
    conn.commit()


def ensure_bi_role(conn: psycopg.Connection) -> None:
    """``bi_reader`` may use the ``marts`` schema and read its relations, nothing else.

    dbt grants SELECT on each mart it builds (``+grants`` in dbt_project.yml); default privileges cover
    relations created in ``marts`` by anything else. Logging in is enabled by ``observatory bi-password``.
    """
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (BI_ROLE,)).fetchone()
    if not exists:
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(BI_ROLE)))
    database = conn.info.dbname
    conn.execute(sql.SQL("grant connect on database {} to {}").format(
        sql.Identifier(database), sql.Identifier(BI_ROLE)))
    conn.execute(sql.SQL("revoke all on schema public from {}").format(sql.Identifier(BI_ROLE)))
    conn.execute(sql.SQL("grant usage on schema marts to {}").format(sql.Identifier(BI_ROLE)))
    conn.execute(sql.SQL("grant select on all tables in schema marts to {}").format(sql.Identifier(BI_ROLE)))
    conn.execute(sql.SQL("alter default privileges in schema marts grant select on tables to {}").format(
        sql.Identifier(BI_ROLE)))
