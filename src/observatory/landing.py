"""The raw landing zone: fetched bytes kept as they came, named by their SHA-256 (never by URL or remote
file name), plus one ``audit.fetch_log`` row per fetch. Files are written once and made read-only.

Downloads are written into the zone's partial directory while they arrive (``partial_dir``, see
``observatory.collect.spool``) and renamed into place whole once complete, so a content path never holds a partial
file; what a killed fetch leaves in the partial directory is never read.

A ``304 Not Modified`` lands nothing new: its fetch-log row points at the content of the resource's last
successful fetch, which is what the server confirmed unchanged."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path

import psycopg

from observatory.collect import Fetched
from observatory.collect.spool import Body

PARTIAL_DIR = ".partial"  # bodies being fetched (never a source id: those start with a letter)


class LandingError(RuntimeError):
    """A fetch cannot be landed (a 304 for a resource that was never fetched)."""


@dataclass(frozen=True)
class Landed:
    """What a parse step needs to find a landed resource again (JSON-serialisable, for XCom)."""

    resource: str
    resource_name: str
    content_sha256: str
    media_type: str | None
    etag: str | None = None
    last_modified: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FetchRecord:
    """A successful fetch as the fetch log keeps it."""

    content_sha256: str
    byte_count: int
    media_type: str | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class LandingZone:
    """The landing zone under ``root`` (``Settings.landing_dir``)."""

    root: Path

    def path(self, source_id: str, content_sha256: str) -> Path:
        return self.root / source_id / content_sha256[:2] / content_sha256

    @property
    def partial_dir(self) -> Path:
        """Where fetched bodies are spooled until they are landed (same file system as the content paths)."""
        return self.root / PARTIAL_DIR

    def store(self, source_id: str, body: Body) -> Path:
        """Keep ``body`` in the landing zone once (a rename for a spooled body); returns its path."""
        path = self.path(source_id, body.sha256)
        body.keep_at(path)
        return path

    def land(self, conn: psycopg.Connection, source_id: str, load_id: str, fetched: Fetched) -> Landed:
        """Keep the fetched bytes (unless the server said they are unchanged) and log the fetch."""
        if fetched.http_status == HTTPStatus.NOT_MODIFIED:
            kept = last_fetch(conn, source_id, fetched.resource)
            if kept is None:
                raise LandingError(f"{fetched.resource}: HTTP 304 Not Modified, but it was never fetched before")
            record = FetchRecord(
                kept.content_sha256,
                kept.byte_count,
                kept.media_type,
                fetched.etag or kept.etag,
                fetched.last_modified or kept.last_modified,
            )
        else:
            self.store(source_id, fetched.body)
            record = FetchRecord(
                fetched.body.sha256, fetched.body.size, fetched.media_type, fetched.etag, fetched.last_modified
            )
        path = self.path(source_id, record.content_sha256)
        conn.execute(
            """insert into audit.fetch_log (source_id, load_id, resource, outcome, http_status, etag, last_modified,
                                            media_type, content_sha256, byte_count, landing_path)
               values (%s, %s, %s, 'fetched', %s, %s, %s, %s, %s, %s, %s)""",
            (
                source_id,
                load_id,
                fetched.resource,
                fetched.http_status,
                record.etag,
                record.last_modified,
                record.media_type,
                record.content_sha256,
                record.byte_count,
                str(path.relative_to(self.root)),
            ),
        )
        return Landed(
            fetched.resource,
            fetched.resource_name,
            record.content_sha256,
            record.media_type,
            record.etag,
            record.last_modified,
        )

    def read(self, source_id: str, content_sha256: str) -> bytes:
        """The landed bytes, whole (for formats read as one document, e.g. JSON)."""
        return self.path(source_id, content_sha256).read_bytes()


def last_fetch(conn: psycopg.Connection, source_id: str, resource: str) -> FetchRecord | None:
    """The last successful fetch of ``resource`` for the source, if any."""
    row = conn.execute(
        """select content_sha256, byte_count, media_type, etag, last_modified from audit.fetch_log
           where source_id = %s and resource = %s and outcome = 'fetched'
           order by fetch_id desc limit 1""",
        (source_id, resource),
    ).fetchone()
    return None if row is None else FetchRecord(*row)


def log_failed_fetch(conn: psycopg.Connection, source_id: str, load_id: str, resource: str, message: str) -> None:
    conn.execute(
        """insert into audit.fetch_log (source_id, load_id, resource, outcome, message)
           values (%s, %s, %s, 'failed', %s)""",
        (source_id, load_id, resource, message),
    )
