"""The raw landing zone: fetched bytes kept as they came, named by their SHA-256 (never by URL or remote
file name), plus one ``audit.fetch_log`` row per fetch. Files are written once and made read-only.

A ``304 Not Modified`` lands nothing new: its fetch-log row points at the content of the resource's last
successful fetch, which is what the server confirmed unchanged."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path

import psycopg

from observatory.collect import Fetched


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

    def store(self, source_id: str, payload: bytes) -> tuple[str, Path]:
        """Write ``payload`` into the landing zone once; returns (sha256, path)."""
        digest = hashlib.sha256(payload).hexdigest()
        path = self.path(source_id, digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
                tmp.write(payload)
            os.chmod(tmp.name, 0o444)
            os.replace(tmp.name, path)
        return digest, path

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
            digest, _ = self.store(source_id, fetched.payload)
            record = FetchRecord(digest, len(fetched.payload), fetched.media_type, fetched.etag, fetched.last_modified)
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
