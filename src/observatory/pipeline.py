"""One source, one logical date: fetch → land → parse → stage → gate → publish.

Each step is a function of (source_id, load_id) so that Airflow runs them as separate, retryable tasks
(possibly on different workers: they share only the warehouse and the landing zone). The load id is
derived from the source and the logical date, so rerunning an interval replaces exactly its own rows.

Sources whose collector is incremental (``INCREMENTAL = True``, e.g. ``eurostat``) load nothing when the
fetched content is the published one: the batch is recorded as ``unchanged``, stage and validate do
nothing, and publish raises ``BatchUnchanged`` (Airflow skips the task, so no asset event, no dbt run).

A logical date no run should have (a clock jump: more than ``LOGICAL_DATE_TOLERANCE`` in the future, or before
``EARLIEST_LOGICAL_DATE``) is refused by ``fetch`` before anything is fetched or recorded (``LogicalDateRefused``).

Bodies stream: a download is written into the landing zone as it arrives, and the line-oriented parsers
(``parse_file``) read the landed file as a stream, gunzipped on the way; SDMX-CSV stages column-wise through
its bulk path (``parse_arrays_file``), streamed from the landed file too; the other formats get the landed bytes.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from observatory.collect import collect_source
from observatory.collect.http import download_cap
from observatory.collect.spool import spooling_into
from observatory.config.registry import Source, load_registry
from observatory.config.settings import Settings
from observatory.landing import Landed, LandingZone, log_failed_fetch
from observatory.parse import Note, ParseError, Rejected, parser_for
from observatory.parse.arrays import ArrayBatch
from observatory.parse.compression import decompressed
from observatory.quality.gate import QualityGateFailed, gate_batch
from observatory.warehouse import connection
from observatory.warehouse.bootstrap import ensure_warehouse_schema
from observatory.warehouse.connection import one_row
from observatory.warehouse.load import BatchNotStaged, publish_batch, quarantine_batch, stage_arrays, stage_rows

LOGICAL_DATE_TOLERANCE = timedelta(hours=1)  # clock skew between the scheduler and a worker
EARLIEST_LOGICAL_DATE = datetime(2000, 1, 1, tzinfo=UTC)  # before any interval the observatory collects


class LogicalDateRefused(ValueError):
    """The logical date is in the future or far in the past (a clock jump, a mistyped backfill): nothing is run."""


def check_logical_date(source_id: str, logical_date: datetime, now: datetime | None = None) -> None:
    """Raise ``LogicalDateRefused`` with the reason when ``logical_date`` is more than ``LOGICAL_DATE_TOLERANCE``
    after ``now`` (default: the current time) or before ``EARLIEST_LOGICAL_DATE``."""
    now = now or datetime.now(UTC)
    when = logical_date.astimezone(UTC)
    if when > now + LOGICAL_DATE_TOLERANCE:
        raise LogicalDateRefused(
            f"{source_id}: logical date {when:%Y-%m-%d %H:%M} UTC is in the future (now {now:%Y-%m-%d %H:%M} UTC, "
            f"tolerance {LOGICAL_DATE_TOLERANCE}): a clock jump or a mistyped date; nothing fetched"
        )
    if when < EARLIEST_LOGICAL_DATE:
        raise LogicalDateRefused(
            f"{source_id}: logical date {when:%Y-%m-%d %H:%M} UTC is before {EARLIEST_LOGICAL_DATE:%Y-%m-%d}, the "
            "earliest the observatory runs for: a clock jump or a mistyped date; nothing fetched"
        )


class BatchSuperseded(RuntimeError):
    """The interval was fetched again by another run (e.g. the scheduled run while a backfill of it was under
    way): this run's content is the older one and is not staged, so it can never replace the later fetch's."""


class BatchUnchanged(Exception):
    """The batch holds the source's published content: there is nothing to publish."""

    def __init__(self, message: str, row_count: int) -> None:
        super().__init__(message)
        self.row_count = row_count  # rows the source keeps published


@dataclass(frozen=True)
class Published:
    """What the source's rows in ``raw`` were loaded from: their batch, its content and how it was fetched."""

    load_id: str
    content_sha256: tuple[str, ...]
    row_count: int
    validators: dict[str, tuple[str | None, str | None]]  # resource → (ETag, Last-Modified)


def load_id_for(source_id: str, logical_date: datetime) -> str:
    return f"{source_id}__{logical_date.astimezone(UTC):%Y%m%d_%H%M%S}"


def _fail_batch(conn: psycopg.Connection, load_id: str, message: str) -> None:
    conn.execute(
        "update audit.batch set status = 'failed', message = %s, finished_at = now() where load_id = %s",
        (message, load_id),
    )
    conn.commit()


def _batch_state(conn: psycopg.Connection, load_id: str) -> tuple[str, str | None, int | None]:
    """(status, message, row count) of the batch."""
    status, message, row_count = one_row(
        conn.execute("select status, message, row_count from audit.batch where load_id = %s", (load_id,))
    )
    return status, message, row_count


def fetch(source_id: str, logical_date: datetime, settings: Settings | None = None) -> list[dict]:
    """Fetch every resource of the source into the landing zone; returns the landed records. An incremental
    source whose content is the published one is recorded as ``unchanged``. A clock jump is refused first
    (``check_logical_date``)."""
    check_logical_date(source_id, logical_date)
    settings = settings or Settings.from_env()
    source = load_registry(settings=settings)[source_id]
    zone = LandingZone(settings.landing_dir)
    load_id = load_id_for(source_id, logical_date)
    with connection.connect() as conn:
        ensure_warehouse_schema(conn)
        published = published_content(conn, source) if is_incremental(source) else None
        conn.execute(
            """insert into audit.batch (load_id, source_id, raw_table, logical_date, status)
               values (%s, %s, %s, %s, 'fetched')
               on conflict (load_id) do update set status = 'fetched', row_count = null, message = null,
                   started_at = now(), finished_at = null""",
            (load_id, source_id, source.raw_table, logical_date),
        )
        record_registry_entry(conn, source)
        with download_cap(source.max_download_bytes):
            landed = _land_resources(conn, source, load_id, zone)
            conn.execute(
                "update audit.batch set content_sha256 = %s where load_id = %s",
                ([item.content_sha256 for item in landed], load_id),
            )
            reason = unchanged_reason(conn, source, landed, published, zone) if published else None
        if published and reason:
            conn.execute(
                """update audit.batch set status = 'unchanged', row_count = %s, message = %s, finished_at = now()
                   where load_id = %s""",
                (published.row_count, f"unchanged: {reason}", load_id),
            )
    return [item.as_dict() for item in landed]


def record_registry_entry(conn: psycopg.Connection, source: Source) -> None:
    """Keep what the marts need of the entry (``audit.registry_entry``), as the registry says it now."""
    conn.execute(
        """insert into audit.registry_entry (source_id, kind, publisher, licence, is_sample, profiles)
           values (%s, %s, %s, %s, %s, %s)
           on conflict (source_id) do update set kind = excluded.kind, publisher = excluded.publisher,
               licence = excluded.licence, is_sample = excluded.is_sample, profiles = excluded.profiles,
               recorded_at = now()""",
        (source.source_id, source.kind, source.publisher, source.licence, source.sample, list(source.profiles)),
    )


def _land_resources(conn: psycopg.Connection, source: Source, load_id: str, zone: LandingZone) -> list[Landed]:
    """Fetch and land each resource in turn, the bodies spooled into the zone (so landing one is a rename)."""
    landed: list[Landed] = []
    with spooling_into(zone.partial_dir):
        for resource, fetch_resource in collect_source(source, load_id):
            try:
                fetched = fetch_resource()
            except Exception as exc:
                log_failed_fetch(conn, source.source_id, load_id, resource, str(exc))
                _fail_batch(conn, load_id, f"fetch failed: {exc}")
                raise
            landed.append(zone.land(conn, source.source_id, load_id, fetched))
            conn.commit()
    return landed


def is_incremental(source: Source) -> bool:
    """Whether the source's collector declares that unchanged content is skipped."""
    return getattr(importlib.import_module(f"observatory.collect.{source.collector}"), "INCREMENTAL", False)


def published_content(conn: psycopg.Connection, source: Source) -> Published | None:
    """The batch whose rows the source has in ``raw`` (None when unknown, e.g. a rerun of it failed)."""
    row = conn.execute(
        sql.SQL("""select load_id, content_sha256, row_count from audit.batch
                   where status in ('published', 'unchanged')
                     and load_id = (select load_id from raw.{} where source_id = %s limit 1)""").format(
            sql.Identifier(source.raw_table)
        ),
        (source.source_id,),
    ).fetchone()
    if row is None:
        return None
    load_id, hashes, row_count = row
    validators = conn.execute(
        """select distinct on (resource) resource, etag, last_modified from audit.fetch_log
           where load_id = %s and outcome = 'fetched' and content_sha256 = any(%s)
           order by resource, fetch_id desc""",
        (load_id, hashes),
    ).fetchall()
    return Published(load_id, tuple(hashes), row_count, {resource: (etag, lm) for resource, etag, lm in validators})


def unchanged_reason(
    conn: psycopg.Connection, source: Source, landed: list[Landed], published: Published, zone: LandingZone
) -> str | None:
    """Why the landed resources hold the published content, or None when they may not."""
    if sorted(item.content_sha256 for item in landed) == sorted(published.content_sha256):
        return f"same content as batch {published.load_id}"
    if {item.resource for item in landed} != published.validators.keys():
        return None
    if all(_same_validators(item, published.validators[item.resource]) for item in landed):
        return f"same ETag or Last-Modified as batch {published.load_id}"
    if len(landed) == 1 and _same_dataset_updated(conn, source, landed[0], zone):
        return f"same dataset 'updated' stamp as batch {published.load_id}"
    return None


def _same_validators(item: Landed, validators: tuple[str | None, str | None]) -> bool:
    etag, last_modified = validators
    return bool((item.etag and item.etag == etag) or (item.last_modified and item.last_modified == last_modified))


def _same_dataset_updated(conn: psycopg.Connection, source: Source, item: Landed, zone: LandingZone) -> bool:
    """Whether the payload's dataset ``updated`` stamp (for formats that have one) is the published rows'."""
    parser = parser_for(source.format)
    if not hasattr(parser, "dataset_updated"):
        return False
    try:
        updated = parser.dataset_updated(decompressed(zone.read(source.source_id, item.content_sha256)))
    except ParseError:
        return False  # the stage step reports it
    published = conn.execute(
        sql.SQL("select dataset_updated from raw.{} where source_id = %s limit 1").format(
            sql.Identifier(source.raw_table)
        ),
        (source.source_id,),
    ).fetchone()
    return updated is not None and published is not None and published[0] == updated


def _landed_files(
    source: Source, landed: list[dict], zone: LandingZone, logical_date: datetime | None = None
) -> Iterator[tuple[dict, Path, dict]]:
    """(landed record, its file, parse options) of every landed resource; the options carry the batch's
    ``logical_date`` (ISO date), from which a parser may derive a window (calendars)."""
    for item in landed:
        options = {**source.parse, "resource_name": item["resource_name"], "media_type": item.get("media_type")}
        if logical_date is not None:
            options.setdefault("logical_date", logical_date.date().isoformat())
        yield item, zone.path(source.source_id, item["content_sha256"]), options


def _parsed(parser: ModuleType, path: Path, options: Mapping[str, Any]) -> Iterator[tuple | Rejected | Note]:
    """What ``parser`` reads from a landed file: streamed when it reads files (``parse_file``), else from its bytes.
    Either way gzip is recognised by its magic bytes, whatever the server said (Eurostat's compressed=true)."""
    if hasattr(parser, "parse_file"):
        return parser.parse_file(path, options)
    return parser.parse(decompressed(path.read_bytes()), options)


@dataclass
class ParseReport:
    """What the parsers said besides rows: rejected records and notes, each with the resource it came from."""

    rejected: list[tuple[str, Rejected]] = field(default_factory=list)
    notes: list[tuple[str, Note]] = field(default_factory=list)


def _parse_error(source: Source, resource: str, exc: Exception, stopped_at: str = "") -> ParseError:
    """One line naming the source and the resource for whatever a parser raised: its ``ParseError``, or a parser
    bug or an input it did not foresee (with where it stopped), never a bare traceback."""
    if isinstance(exc, ParseError):
        return ParseError(f"{source.source_id}: {resource}: {exc}")
    return ParseError(
        f"{source.source_id}: {resource}: parser {source.format} failed{stopped_at}: {type(exc).__name__}: {exc}"
    )


def parse_landed(
    source: Source,
    landed: list[dict],
    zone: LandingZone,
    report: ParseReport | None = None,
    logical_date: datetime | None = None,
) -> Iterator[tuple]:
    """The rows of every landed resource, parsed with the source's format and options; rejected records and
    notes go to ``report``. Anything a parser raises becomes one ``ParseError`` naming the resource and the
    record it stopped at."""
    report = report if report is not None else ParseReport()
    parser = parser_for(source.format)
    for item, path, options in _landed_files(source, landed, zone, logical_date):
        resource, records = item["resource"], 0
        try:
            for parsed in _parsed(parser, path, options):
                records += 1
                if isinstance(parsed, Rejected):
                    report.rejected.append((resource, parsed))
                elif isinstance(parsed, Note):
                    report.notes.append((resource, parsed))
                else:
                    yield parsed
        except Exception as exc:
            raise _parse_error(source, resource, exc, f" after record {records}") from exc


def parse_landed_arrays(
    source: Source,
    landed: list[dict],
    zone: LandingZone,
    logical_date: datetime | None = None,
    report: ParseReport | None = None,
) -> Iterator[ArrayBatch]:
    """Every landed resource as the parser's bulk output: streamed from the file when the parser reads files
    (``parse_arrays_file``, its rejected records and notes going to ``report`` as the parts are read), else from
    its bytes (``parse_arrays``). Anything a parser raises becomes one ``ParseError`` naming the resource."""
    report = report if report is not None else ParseReport()
    parser = parser_for(source.format)
    for item, path, options in _landed_files(source, landed, zone, logical_date):
        resource = item["resource"]

        def reported(parsed: Rejected | Note, resource: str = resource) -> None:
            if isinstance(parsed, Rejected):
                report.rejected.append((resource, parsed))
            else:
                report.notes.append((resource, parsed))

        def checked(parts: Iterable[Sequence[Any]], resource: str = resource) -> Iterator[Sequence[Any]]:
            try:
                yield from parts
            except Exception as exc:
                raise _parse_error(source, resource, exc) from exc

        try:
            if hasattr(parser, "parse_arrays_file"):
                batch = parser.parse_arrays_file(path, options, reported)
                yield ArrayBatch(batch.columns, checked(batch.parts), batch.dictionaries, batch.constants)
            else:
                yield parser.parse_arrays(decompressed(path.read_bytes()), options)
        except Exception as exc:
            raise _parse_error(source, resource, exc) from exc


def stage(source_id: str, load_id: str, landed: list[dict], settings: Settings | None = None) -> int:
    """Parse the landed resources and COPY them into ``stage.<load_id>``; returns the row count (0 for an
    unchanged batch, which stages nothing). Rejected records are kept in ``audit.rejected_record`` and counted
    in ``audit.batch.rejected_count`` (the validate step quarantines a batch that rejected too many); any
    error marks the batch failed with a one-line reason."""
    settings = settings or Settings.from_env()
    source = load_registry(settings=settings)[source_id]
    zone = LandingZone(settings.landing_dir)
    report = ParseReport()
    with connection.connect() as conn:
        status, logical_date, fetched = one_row(
            conn.execute("select status, logical_date, content_sha256 from audit.batch where load_id = %s", (load_id,))
        )
        ours = sorted(item["content_sha256"] for item in landed)
        if ours != sorted(fetched or []):
            raise BatchSuperseded(
                f"{load_id}: fetched again by another run after this one (this run landed {ours}, the batch's "
                f"latest fetch {fetched}); this run's older content is not staged"
            )
        if status == "unchanged":
            return 0
        try:
            parser = parser_for(source.format)
            with download_cap(source.max_download_bytes):  # what a landed gzip may inflate to
                if hasattr(parser, "parse_arrays_file") or hasattr(parser, "parse_arrays"):
                    batches = parse_landed_arrays(source, landed, zone, logical_date, report)
                    count = stage_arrays(conn, load_id, source_id, source.raw_table, batches)
                else:
                    rows = parse_landed(source, landed, zone, report, logical_date)
                    count = stage_rows(conn, load_id, source_id, source.raw_table, rows)
        except Exception as exc:
            conn.rollback()
            message = (
                str(exc) if isinstance(exc, ParseError) else f"{source_id}: stage failed: {type(exc).__name__}: {exc}"
            )
            _fail_batch(conn, load_id, message.splitlines()[0])
            raise
        _record_parse_report(conn, load_id, source_id, report)
        staged = conn.execute(
            "update audit.batch set status = 'staged', row_count = %s, rejected_count = %s, parse_notes = %s"
            " where load_id = %s and content_sha256 = %s",
            (
                count,
                len(report.rejected),
                Jsonb([_note_record(r, n) for r, n in report.notes]) if report.notes else None,
                load_id,
                fetched,
            ),
        )
        if staged.rowcount == 0:  # another run fetched the interval while this one staged: its content wins
            conn.rollback()
            raise BatchSuperseded(
                f"{load_id}: fetched again by another run while this one staged; this run's older content is not staged"
            )
    return count


def _note_record(resource: str, note: Note) -> dict[str, str]:
    return {"resource": resource, "where": note.where, "note": note.note}


def _record_parse_report(conn: psycopg.Connection, load_id: str, source_id: str, report: ParseReport) -> None:
    """Replace the batch's rejected records (a rerun of the interval replaces exactly its own)."""
    conn.execute("delete from audit.rejected_record where load_id = %s", (load_id,))
    if report.rejected:
        with conn.cursor().copy(
            "copy audit.rejected_record (load_id, source_id, resource, location, reason, raw_record) from stdin"
        ) as copy:
            for resource, record in report.rejected:
                copy.write_row((load_id, source_id, resource, record.where, record.reason, record.raw))


def rejected_share_problem(source: Source, row_count: int, rejected_count: int, first: str | None) -> str | None:
    """Why the batch rejected too many records for its entry's ``max_rejected_share``, or None."""
    total = row_count + rejected_count
    if rejected_count == 0 or total == 0:
        return None
    share = rejected_count / total
    if share <= source.max_rejected_share:
        return None
    return (
        f"{rejected_count} of {total} records rejected ({share:.1%}), more than max_rejected_share "
        f"{source.max_rejected_share:.1%}" + (f"; first: {first}" if first else "")
    )


def validate(source_id: str, load_id: str, settings: Settings | None = None) -> None:
    """Run the source's expectation suite on the staged batch; quarantine it and raise if it fails."""
    settings = settings or Settings.from_env()
    source = load_registry(settings=settings)[source_id]
    conninfo = connection.dsn()
    with connection.connect() as conn:
        status, _, row_count = _batch_state(conn, load_id)
        if status == "unchanged":
            return
        rejected_count, first = one_row(
            conn.execute(
                """select coalesce(batch.rejected_count, 0),
                          (select record.location || ': ' || record.reason from audit.rejected_record as record
                           where record.load_id = batch.load_id order by record.recorded_at limit 1)
                   from audit.batch where batch.load_id = %s""",
                (load_id,),
            )
        )
        problem = rejected_share_problem(source, row_count or 0, rejected_count, first)
        if problem:
            message = f"batch {load_id} quarantined: {problem}"
            quarantine_batch(conn, load_id, message)
            conn.commit()  # before raising: leaving the connection's block with an error rolls back
            raise QualityGateFailed(message)
        try:
            gate_batch(conn, conninfo, load_id, source.suite, settings.expectations_dir)
        except QualityGateFailed as exc:
            quarantine_batch(conn, load_id, str(exc))
            raise


def publish(source_id: str, load_id: str, settings: Settings | None = None) -> int:
    """Make the audited batch the source's published rows; returns the row count. Raises ``BatchUnchanged``
    for an unchanged batch."""
    source = load_registry(settings=settings)[source_id]
    with connection.connect() as conn:
        status, message, row_count = _batch_state(conn, load_id)
        if status == "unchanged":
            if row_count is None:  # fetch records the published row count with the status
                raise RuntimeError(f"{load_id}: batch is unchanged but has no row count")
            raise BatchUnchanged(f"{load_id}: {message}", row_count)
        try:
            return publish_batch(conn, load_id, source_id, source.raw_table)
        except BatchNotStaged as not_staged:
            if not_staged.status != "fetched":
                raise
            raise BatchSuperseded(
                f"{load_id}: fetched again by another run after this one staged; this run's older content is not "
                "published"
            ) from not_staged


def run_source(source_id: str, logical_date: datetime, settings: Settings | None = None) -> int:
    """All steps in one process (the CLI and tests); returns the rows the source has published."""
    settings = settings or Settings.from_env()
    load_id = load_id_for(source_id, logical_date)
    landed = fetch(source_id, logical_date, settings)
    stage(source_id, load_id, landed, settings)
    validate(source_id, load_id, settings)
    try:
        return publish(source_id, load_id, settings)
    except BatchUnchanged as unchanged:
        return unchanged.row_count
