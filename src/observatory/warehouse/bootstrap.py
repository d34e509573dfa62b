"""The warehouse's own schemas and tables (dbt builds everything after ``raw``).

- ``raw``: published batches, one table per parser shape (``observatory.warehouse.raw_tables``).
- ``stage``: one table per batch being written and audited (write-audit-publish).
- ``quarantine``: batches that failed the quality gate, kept for inspection.
- ``audit``: the fetch log, batches, validation results, source freshness, the daily data health and the
  registry entries as last collected.
- ``marts``: built by dbt; the only schema the read-only ``bi_reader`` role can read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

from observatory.config.settings import Settings
from observatory.warehouse import connection
from observatory.warehouse.connection import BI_PASSWORD_ENV, BI_ROLE
from observatory.warehouse.raw_tables import RAW_TABLES

MIN_BI_PASSWORD_LENGTH = 12
# Functions every role may call by default that create large objects: the one kind of write a role with no
# privileges on any schema could still make.
LARGE_OBJECT_CREATORS = ("lo_create(oid)", "lo_creat(integer)", "lo_from_bytea(oid, bytea)")

# Audit columns added since the first release, per table: (column, type), added to older warehouses at bootstrap.
AUDIT_COLUMNS_ADDED = {
    "batch": (("rejected_count", "bigint"), ("parse_notes", "jsonb")),
    "data_health": (("rejected_last_batch", "bigint"),),
}

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
    status text not null,
    row_count bigint,
    content_sha256 text[],
    message text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    rejected_count bigint,
    parse_notes jsonb
);

-- records a parser could not read (observatory.parse.Rejected): kept with their reason, the rest of the file loads
create table if not exists audit.rejected_record (
    load_id text not null,
    source_id text not null,
    resource text not null,
    location text not null,
    reason text not null,
    raw_record text,
    recorded_at timestamptz not null default now()
);
create index if not exists rejected_record_load_idx on audit.rejected_record (load_id);

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

-- dbt's `dbt source freshness` results for the registry's entries (observatory.quality.freshness), per Airflow run
create table if not exists audit.source_freshness (
    run_id text not null,
    source_id text not null,
    status text not null,
    max_loaded_at timestamptz,
    checked_at timestamptz not null,
    age_hours numeric(12, 2),
    warn_after_hours integer,
    error_after_hours integer,
    message text,
    primary key (run_id, source_id)
);

-- alerts sent (observatory.airflow.notify): one row per event, so the same event is never sent twice
create table if not exists audit.notification (
    kind text not null,
    source_id text not null,
    event_key text not null,
    batch text,
    reason text not null,
    log_url text,
    sent_at timestamptz not null default now(),
    primary key (kind, source_id, event_key)
);

-- the registry entries as last collected (observatory.pipeline.fetch): what dbt knows of a source_id, e.g. that
-- its file was written for the project (is_sample), so the marts mark its figures as sample
create table if not exists audit.registry_entry (
    source_id text primary key,
    kind text not null,
    publisher text not null,
    licence text not null,
    is_sample boolean not null,
    profiles text[] not null,
    recorded_at timestamptz not null default now()
);

-- the daily data-health summary (observatory.quality.health): one row per day and registry entry
create table if not exists audit.data_health (
    health_date date not null,
    source_id text not null,
    kind text not null,
    health_status text not null check (health_status in ('ok', 'warn', 'error', 'unknown')),
    freshness_status text,
    freshness_checked_at timestamptz,
    last_success_at timestamptz,
    hours_since_success numeric(12, 2),
    last_batch_load_id text,
    last_batch_status text,
    last_validated_load_id text,
    expectations_failed integer,
    expectations_evaluated integer,
    quarantined_last_7_days integer not null,
    quarantined_total integer not null,
    note text,
    rejected_last_batch bigint,
    computed_at timestamptz not null default now(),
    primary key (health_date, source_id)
);
"""


# Replaced when it lacks a status, so warehouses created by older versions get the new statuses too.
BATCH_STATUS_DDL = """
alter table audit.batch drop constraint if exists batch_status_check;
alter table audit.batch add constraint batch_status_check
    check (status in ('fetched', 'staged', 'published', 'unchanged', 'quarantined', 'failed'));
"""


def ensure_warehouse_schema(conn: psycopg.Connection, settings: Settings | None = None) -> None:
    """Create schemas, audit and raw tables (adding columns a raw table has gained since), and the BI role with
    the settings' limits; safe to run again, also from several processes at once (they take turns: concurrent
    GRANTs on one object fail in PostgreSQL with "tuple concurrently updated")."""
    conn.execute("select pg_advisory_xact_lock(hashtextextended('observatory.ensure_warehouse_schema', 0))")
    for schema in ("raw", "stage", "quarantine", "audit", "marts"):
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
    conn.execute(AUDIT_DDL)
    definition = conn.execute(
        "select pg_get_constraintdef(oid) from pg_constraint where conname = 'batch_status_check'"
        " and conrelid = 'audit.batch'::regclass"
    ).fetchone()
    if definition is None or "'unchanged'" not in definition[0]:  # ALTER locks the table: only when needed
        conn.execute(BATCH_STATUS_DDL)
    for table_name, added in AUDIT_COLUMNS_ADDED.items():
        add_missing_columns(conn, "audit", table_name, added)
    for table in RAW_TABLES.values():
        name = sql.Identifier(table.name)
        columns: list[sql.Composable] = [sql.SQL("load_id text not null"), sql.SQL("source_id text not null")]
        columns += [
            sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(pg_type)) for column, pg_type in table.columns
        ]
        columns.append(sql.SQL("loaded_at timestamptz not null default now()"))
        conn.execute(sql.SQL("create table if not exists raw.{} ({})").format(name, sql.SQL(", ").join(columns)))
        add_missing_columns(conn, "raw", table.name, table.columns)
        conn.execute(
            sql.SQL("create index if not exists {} on raw.{} (source_id)").format(
                sql.Identifier(f"{table.name}_source_idx"), name
            )
        )
    ensure_bi_role(conn, settings or Settings.from_env())
    conn.commit()


def add_missing_columns(conn: psycopg.Connection, schema: str, table: str, columns: Sequence[tuple[str, str]]) -> None:
    """Add the ``(name, type)`` columns a table created by an older version lacks."""
    present = {
        column
        for (column,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
            (schema, table),
        )
    }
    for column, pg_type in columns:
        if column not in present:  # only then: ALTER TABLE locks the table even when there is nothing to do
            conn.execute(
                sql.SQL("alter table {}.{} add column {} {}").format(
                    sql.Identifier(schema), sql.Identifier(table), sql.Identifier(column), sql.SQL(pg_type)
                )
            )


def ensure_bi_role(conn: psycopg.Connection, settings: Settings) -> None:
    """``bi_reader`` may use the ``marts`` schema and read its relations, nothing else, within limits.

    dbt grants SELECT on each mart it builds (``+grants`` in dbt_project.yml); default privileges cover
    relations created in ``marts`` by anything else. What PostgreSQL gives every role by default is taken back
    where it would let a reader write: temporary tables, objects in ``public`` (already so since PostgreSQL 15)
    and large objects. Its ``statement_timeout`` in this database and its connection limit (a role attribute,
    cluster-wide) come from the settings; each is altered only when it differs, as ALTER ROLE rewrites the
    role's row. Logging in is enabled by ``set_bi_reader_password``.
    """
    role = sql.Identifier(BI_ROLE)
    database = sql.Identifier(conn.info.dbname)
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (BI_ROLE,)).fetchone()
    if not exists:
        conn.execute(sql.SQL("create role {} nologin").format(role))
    conn.execute(sql.SQL("grant connect on database {} to {}").format(database, role))
    conn.execute(sql.SQL("revoke temporary on database {} from public").format(database))
    conn.execute(sql.SQL("grant temporary on database {} to current_user").format(database))
    conn.execute("revoke create on schema public from public")
    conn.execute(sql.SQL("revoke all on schema public from {}").format(role))
    for function in LARGE_OBJECT_CREATORS:
        conn.execute(sql.SQL("revoke execute on function {} from public").format(sql.SQL(function)))
    conn.execute(sql.SQL("grant usage on schema marts to {}").format(role))
    conn.execute(sql.SQL("grant select on all tables in schema marts to {}").format(role))
    conn.execute(sql.SQL("alter default privileges in schema marts grant select on tables to {}").format(role))
    limit, timeout_set = connection.one_row(
        conn.execute(
            """select r.rolconnlimit, coalesce(%s = any(s.setconfig), false)
               from pg_roles r
               left join pg_db_role_setting s on s.setrole = r.oid
                   and s.setdatabase = (select oid from pg_database where datname = current_database())
               where r.rolname = %s""",
            (f"statement_timeout={settings.bi_statement_timeout}", BI_ROLE),
        )
    )
    if limit != settings.bi_connection_limit:
        conn.execute(
            sql.SQL("alter role {} connection limit {}").format(role, sql.Literal(settings.bi_connection_limit))
        )
    if not timeout_set:
        conn.execute(
            sql.SQL("alter role {} in database {} set statement_timeout = {}").format(
                role, database, sql.Literal(settings.bi_statement_timeout)
            )
        )


def set_bi_reader_password(conn: psycopg.Connection, password: str | None = None) -> None:
    """Let ``bi_reader`` log in with ``password`` (default: ``$OBSERVATORY_BI_READER_PASSWORD``).

    The password is hashed here (SCRAM-SHA-256, by libpq) and only its verifier is sent, so it never appears in
    the server's statement log. Running it again changes the password.
    """
    password = os.environ.get(BI_PASSWORD_ENV, "") if password is None else password
    if len(password) < MIN_BI_PASSWORD_LENGTH:
        raise ValueError(f"set {BI_PASSWORD_ENV} to a password of at least {MIN_BI_PASSWORD_LENGTH} characters")
    ensure_warehouse_schema(conn)
    verifier = conn.pgconn.encrypt_password(password.encode(), BI_ROLE.encode(), b"scram-sha-256")
    conn.execute(
        sql.SQL("alter role {} with login password {}").format(sql.Identifier(BI_ROLE), sql.Literal(verifier.decode()))
    )
    conn.commit()


def ensure_warehouse(settings: Settings | None = None) -> str:
    """The DSN of the warehouse in use, starting the local cluster unless an external DSN is set; ``bi_reader``
    can log in afterwards: with the password generated (once) into ``.local/postgres/bi_reader_password`` on the
    local cluster, with ``$OBSERVATORY_BI_READER_PASSWORD`` on an external warehouse when it is set."""
    settings = settings or Settings.from_env()
    external = bool(os.environ.get(connection.DSN_ENV))
    conninfo = connection.dsn() if external else connection.start_local()
    if not external:
        connection.write_new_secret(connection.bi_password_file())
    with connection.connect() as conn:
        ensure_warehouse_schema(conn, settings)
        if (not external or os.environ.get(BI_PASSWORD_ENV)) and not reader_can_log_in(connection.reader_dsn()):
            password = unquote(urlsplit(connection.reader_dsn()).password or "")
            set_bi_reader_password(conn, password)
    return conninfo


def reader_can_log_in(reader_dsn: str) -> bool:
    """Whether ``bi_reader`` logs in with the password of ``reader_dsn`` (checked before setting it again, so
    ``observatory up`` does not rewrite the role each time)."""
    try:
        psycopg.connect(reader_dsn, connect_timeout=10).close()
    except psycopg.OperationalError:
        return False
    return True
