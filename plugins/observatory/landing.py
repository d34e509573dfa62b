"""The raw landing zone: fetched bytes kept as they came, named by their SHA-256 (never by URL or remote
file name), plus one ``audit.fetch_log`` row per fetch. Files are written once and made read-only."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg

from observatory.collect import Fetched
from observatory.settings import LANDING_DIR


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


def landing_path(source_id: str, content_sha256: str) -> Path:
    return LANDING_DIR / source_id / content_sha256[:2] / content_sha256


def store_payload(source_id: str, payload: bytes) -> tuple[str, Path]:
    """Write ``payload`` into the landing zone once; returns (sha256, path)."""
    digest = hashlib.sha256(payload).hexdigest()
    path = landing_path(source_id, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
            tmp.write(payload)
        os.chmod(tmp.name, 0o444)
        os.replace(tmp.name, path)
    return digest, path


def land(conn: psycopg.Connection, source_id: str, load_id: str, fetched: Fetched) -> Landed:
    """Keep the fetched bytes and log the fetch."""
    digest, path = store_payload(source_id, fetched.payload)
    conn.execute(
        """insert into audit.fetch_log (source_id, load_id, resource, outcome, http_status, etag, last_modified,
                                        media_type, content_sha256, byte_count, landing_path)
           values (%s, %s, %s, 'fetched', %s, %s, %s, %s, %s, %s, %s)""",
        (source_id, load_id, fetched.resource, fetched.http_status, fetched.etag, fetched.last_modified,
         fetched.media_type, digest, len(fetched.payload), str(path.relative_to(LANDING_DIR))),
    )
    return Landed(fetched.resource, fetched.resource_name, digest, fetched.media_type, fetched.etag,
                  fetched.last_modified)


def log_failed_fetch(conn: psycopg.Connection, source_id: str, load_id: str, resource: str, message: str) -> None:
    conn.execute(
        """insert into audit.fetch_log (source_id, load_id, resource, outcome, message)
           values (%s, %s, %s, 'failed', %s)""",
        (source_id, load_id, resource, message),
    )


def read_landed(source_id: str, content_sha256: str) -> bytes:
    return landing_path(source_id, content_sha256).read_bytes()
