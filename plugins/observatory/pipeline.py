"""One source, one logical date: fetch → land → parse → stage → gate → publish.

Each step is a function of (source_id, load_id) so that Airflow runs them as separate, retryable tasks
(possibly on different workers: they share only the warehouse and the landing zone). The load id is
derived from the source and the logical date, so rerunning an interval replaces exactly its own rows.
"""

from __future__ import annotations

from datetime import datetime, timezone

from observatory import warehouse
from observatory.bootstrap import ensure_warehouse_schema
from observatory.collect import collect_source
from observatory.landing import Landed, land, log_failed_fetch, read_landed
from observatory.load import publish_batch, quarantine_batch, stage_rows
from observatory.parse import ParseError, parser_for
from observatory.quality import QualityGateFailed, gate_batch
from observatory.registry import Source, load_registry


def load_id_for(source_id: str, logical_date: datetime) -> str:
    return f"{source_id}__{logical_date.astimezone(timezone.utc):%Y%m%d_%H%M%S}"


def _fail_batch(conn, load_id: str, message: str) -> None:
    conn.execute("update audit.batch set status = 'failed', message = %s, finished_at = now() where load_id = %s",
                 (message, load_id))
    conn.commit()


def fetch(source_id: str, logical_date: datetime) -> list[dict]:
    """Fetch every resource of the source into the landing zone; returns the landed records."""
    source = load_registry()[source_id]
    load_id = load_id_for(source_id, logical_date)
    with warehouse.connect() as conn:
        ensure_warehouse_schema(conn)
        conn.execute(
            """insert into audit.batch (load_id, source_id, raw_table, logical_date, status)
               values (%s, %s, %s, %s, 'fetched')
               on conflict (load_id) do update set status = 'fetched', row_count = null, message = null,
                   started_at = now(), finished_at = null""",
            (load_id, source_id, source.raw_table, logical_date),
        )
        landed: list[Landed] = []
        for resource, fetch_resource in collect_source(source):
            try:
                fetched = fetch_resource()
            except Exception as exc:
                log_failed_fetch(conn, source_id, load_id, resource, str(exc))
                _fail_batch(conn, load_id, f"fetch failed: {exc}")
                raise
            landed.append(land(conn, source_id, load_id, fetched))
            conn.commit()
        conn.execute("update audit.batch set content_sha256 = %s where load_id = %s",
                     ([item.content_sha256 for item in landed], load_id))
    return [item.as_dict() for item in landed]


def parse_landed(source: Source, landed: list[dict]):
    """The rows of every landed resource, parsed with the source's format and options."""
    parser = parser_for(source.format)
    for item in landed:
        options = {**source.parse, "resource_name": item["resource_name"], "media_type": item.get("media_type")}
        payload = read_landed(source.source_id, item["content_sha256"])
        try:
            yield from parser.parse(payload, options)
        except ParseError as exc:
            raise ParseError(f"{source.source_id}: {item['resource']}: {exc}") from exc


def stage(source_id: str, load_id: str, landed: list[dict]) -> int:
    """Parse the landed resources and COPY them into ``stage.<load_id>``; returns the row count."""
    source = load_registry()[source_id]
    with warehouse.connect() as conn:
        try:
            count = stage_rows(conn, load_id, source_id, source.raw_table,
                               parse_landed(source, landed))
        except ParseError as exc:
            conn.rollback()
            _fail_batch(conn, load_id, str(exc))
            raise
        conn.execute("update audit.batch set status = 'staged', row_count = %s where load_id = %s", (count, load_id))
    return count


def validate(source_id: str, load_id: str) -> None:
    """Run the source's expectation suite on the staged batch; quarantine it and raise if it fails."""
    source = load_registry()[source_id]
    conninfo = warehouse.dsn()
    with warehouse.connect() as conn:
        try:
            gate_batch(conn, conninfo, load_id, source.suite)
        except QualityGateFailed as exc:
            quarantine_batch(conn, load_id, str(exc))
            raise


def publish(source_id: str, load_id: str) -> int:
    """Make the audited batch the source's published rows; returns the row count."""
    source = load_registry()[source_id]
    with warehouse.connect() as conn:
        return publish_batch(conn, load_id, source_id, source.raw_table)


def run_source(source_id: str, logical_date: datetime) -> int:
    """All steps in one process (the CLI and tests); returns rows published."""
    load_id = load_id_for(source_id, logical_date)
    landed = fetch(source_id, logical_date)
    stage(source_id, load_id, landed)
    validate(source_id, load_id)
    return publish(source_id, load_id)
