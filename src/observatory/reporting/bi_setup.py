"""Connect the BI tool to the marts: let ``bi_reader`` log in, then set up Metabase through its HTTP API.

Run once by the ``bi-setup`` service of docker-compose.yml (``python -m observatory.reporting.bi_setup``), and safe
to run again: Metabase's first admin is created only while Metabase still offers its setup token; afterwards we
log in with the same admin and add the warehouse only if no database of that name exists. Metabase connects as
``bi_reader`` (SELECT on ``marts`` only) and is told to sync the ``marts`` schema only.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

DATABASE_NAME = "Integrating Cities Observatory (marts)"


class MetabaseError(RuntimeError):
    """Metabase answered with an error, or did not come up."""


@dataclass(frozen=True)
class MetabaseSettings:
    url: str
    admin_email: str
    admin_password: str
    warehouse_host: str
    warehouse_port: int
    warehouse_db: str
    reader_password: str

    @classmethod
    def from_env(cls) -> MetabaseSettings:
        env = os.environ
        return cls(
            env.get("METABASE_URL", "http://metabase:3000").rstrip("/"),
            env["METABASE_ADMIN_EMAIL"],
            env["METABASE_ADMIN_PASSWORD"],
            env.get("METABASE_WAREHOUSE_HOST", "warehouse"),
            int(env.get("METABASE_WAREHOUSE_PORT", "5432")),
            env.get("METABASE_WAREHOUSE_DB", "observatory"),
            env["OBSERVATORY_BI_READER_PASSWORD"],
        )

    def database_payload(self) -> dict:
        """``POST /api/database`` body: PostgreSQL as bi_reader, syncing the marts schema only."""
        return {
            "engine": "postgres",
            "name": DATABASE_NAME,
            "details": {
                "host": self.warehouse_host,
                "port": self.warehouse_port,
                "dbname": self.warehouse_db,
                "user": "bi_reader",
                "password": self.reader_password,
                "ssl": False,
                "schema-filters-type": "inclusion",
                "schema-filters-patterns": "marts",
            },
        }


def call(method: str, url: str, body: dict | None = None, session: str | None = None) -> Any:
    """One JSON request; raises ``MetabaseError`` with Metabase's message on an HTTP error."""
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"X-Metabase-Session": session} if session else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
    except urllib.error.HTTPError as exc:
        raise MetabaseError(f"{method} {url}: HTTP {exc.code}: {exc.read()[:500]!r}") from exc
    return json.loads(payload) if payload else None


def wait_for_metabase(url: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (call("GET", f"{url}/api/health") or {}).get("status") == "ok":
                return
        except (OSError, MetabaseError, ValueError):
            pass
        time.sleep(2)
    raise MetabaseError(f"Metabase at {url} not healthy after {timeout:.0f}s")


def admin_session(settings: MetabaseSettings) -> str:
    """Create the first admin while Metabase is unconfigured, else log in; returns a session id."""
    token = (call("GET", f"{settings.url}/api/session/properties") or {}).get("setup-token")
    if token:
        answer = call(
            "POST",
            f"{settings.url}/api/setup",
            {
                "token": token,
                "user": {
                    "email": settings.admin_email,
                    "password": settings.admin_password,
                    "first_name": "Observatory",
                    "last_name": "Admin",
                    "site_name": "Integrating Cities Observatory",
                },
                "prefs": {"site_name": "Integrating Cities Observatory", "allow_tracking": False},
            },
        )
    else:
        answer = call(
            "POST",
            f"{settings.url}/api/session",
            {"username": settings.admin_email, "password": settings.admin_password},
        )
    return answer["id"]


def ensure_database(settings: MetabaseSettings, session: str) -> tuple[int, bool]:
    """The Metabase id of the marts database, adding it if missing; and whether it was added."""
    listed = call("GET", f"{settings.url}/api/database", session=session)
    databases = listed["data"] if isinstance(listed, dict) else listed
    for database in databases:
        if database["name"] == DATABASE_NAME:
            return database["id"], False
    return call("POST", f"{settings.url}/api/database", settings.database_payload(), session=session)["id"], True


def configure_metabase(settings: MetabaseSettings, timeout: float = 300) -> tuple[int, bool]:
    """Wait for Metabase, then make sure the admin exists and the marts database is added."""
    wait_for_metabase(settings.url, timeout)
    return ensure_database(settings, admin_session(settings))


def main() -> int:
    """bi_reader may log in (password from OBSERVATORY_BI_READER_PASSWORD); Metabase reads the marts as it."""
    from observatory.warehouse import connection
    from observatory.warehouse.bootstrap import set_bi_reader_password

    with connection.connect() as conn:
        set_bi_reader_password(conn)
    database_id, added = configure_metabase(MetabaseSettings.from_env())
    print(
        f"bi-setup: bi_reader can log in; Metabase database {database_id} "
        f"{'added' if added else 'already present'} ({DATABASE_NAME})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
