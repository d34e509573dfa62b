"""Connect the BI tool to the marts: let ``bi_reader`` log in, then provision Superset through its HTTP API.

The database (the warehouse as ``bi_reader``), datasets, charts and the dashboard are files in Superset's import
format (``bi/superset/assets/``). They are zipped here, with the warehouse's host, port and database written into
the database file's URI, and sent to ``POST /api/v1/assets/import/`` with ``bi_reader``'s password in the import's
``passwords`` field (never in a file). That import overwrites what it imported before, so running this again is
safe. Run by the ``bi-setup`` service of docker-compose.yml (``python -m observatory.reporting.bi_setup``) and by
``make bi`` (observatory_dev.bi).
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

DATABASE_NAME = "Integrating Cities Observatory (marts)"
DASHBOARD_SLUG = "integrating-cities"
BUNDLE_ROOT = "observatory_bi"


class SupersetError(RuntimeError):
    """Superset answered with an error, or did not come up."""


@dataclass(frozen=True)
class SupersetSettings:
    url: str
    admin_username: str
    admin_password: str
    warehouse_host: str
    warehouse_port: int
    warehouse_db: str
    reader_password: str
    assets_dir: Path

    @classmethod
    def from_env(cls) -> SupersetSettings:
        env = os.environ
        return cls(
            env.get("SUPERSET_URL", "http://superset:8088").rstrip("/"),
            env.get("SUPERSET_ADMIN_USER", "admin"),
            env["SUPERSET_ADMIN_PASSWORD"],
            env.get("SUPERSET_WAREHOUSE_HOST", "warehouse"),
            int(env.get("SUPERSET_WAREHOUSE_PORT", "5432")),
            env.get("SUPERSET_WAREHOUSE_DB", "observatory"),
            env["OBSERVATORY_BI_READER_PASSWORD"],
            Path(env.get("SUPERSET_ASSETS_DIR", "bi/superset/assets")),
        )

    def reader_uri(self) -> str:
        """The warehouse as bi_reader, password masked the way Superset exports it (sent apart on import)."""
        return (
            f"postgresql+psycopg2://bi_reader:XXXXXXXXXX@{self.warehouse_host}:{self.warehouse_port}/"
            f"{self.warehouse_db}"
        )


def asset_bundle(settings: SupersetSettings) -> tuple[bytes, dict[str, str]]:
    """The assets directory as an import ZIP (database URI pointed at the warehouse in use), and the
    ``passwords`` map that gives each database file bi_reader's password."""
    files = sorted(path for path in settings.assets_dir.rglob("*.yaml") if path.is_file())
    if not any(path.name == "metadata.yaml" for path in files):
        raise SupersetError(f"no metadata.yaml in {settings.assets_dir}")
    passwords: dict[str, str] = {}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in files:
            name = path.relative_to(settings.assets_dir).as_posix()
            text = path.read_text(encoding="utf-8")
            if name.startswith("databases/"):
                document = yaml.safe_load(text)
                document["sqlalchemy_uri"] = settings.reader_uri()
                text = yaml.safe_dump(document, sort_keys=False)
                passwords[name] = settings.reader_password
            bundle.writestr(f"{BUNDLE_ROOT}/{name}", text)
    return buffer.getvalue(), passwords


def wait_for_superset(url: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=5).text.strip() == "OK":
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise SupersetError(f"Superset at {url} not healthy after {timeout:.0f}s")


def checked(response: requests.Response) -> Any:
    """The JSON body of a successful answer; else ``SupersetError`` with Superset's message."""
    if not response.ok:
        raise SupersetError(
            f"{response.request.method} {response.url}: HTTP {response.status_code}: {response.text[:800]}"
        )
    return response.json()


def admin_session(settings: SupersetSettings) -> requests.Session:
    """A session logged in as the admin (``/api/v1/security/login``), with the CSRF token that POSTs need."""
    session = requests.Session()
    token = checked(
        session.post(
            f"{settings.url}/api/v1/security/login",
            json={
                "username": settings.admin_username,
                "password": settings.admin_password,
                "provider": "db",
                "refresh": False,
            },
            timeout=30,
        )
    )["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    csrf = checked(session.get(f"{settings.url}/api/v1/security/csrf_token/", timeout=30))["result"]
    session.headers.update({"X-CSRFToken": csrf, "Referer": settings.url})
    return session


def import_assets(settings: SupersetSettings, session: requests.Session) -> int:
    """Import (or re-import over) the assets; returns the dashboard's id."""
    bundle, passwords = asset_bundle(settings)
    checked(
        session.post(
            f"{settings.url}/api/v1/assets/import/",
            files={"bundle": ("observatory_bi.zip", bundle, "application/zip")},
            data={"passwords": json.dumps(passwords)},
            timeout=120,
        )
    )
    return checked(session.get(f"{settings.url}/api/v1/dashboard/{DASHBOARD_SLUG}", timeout=30))["result"]["id"]


def configure_superset(settings: SupersetSettings, timeout: float = 300) -> int:
    """Wait for Superset, log in as the admin and import the assets; returns the dashboard's id."""
    wait_for_superset(settings.url, timeout)
    return import_assets(settings, admin_session(settings))


def main() -> int:
    """bi_reader may log in (password from OBSERVATORY_BI_READER_PASSWORD); Superset reads the marts as it."""
    from observatory.warehouse import connection
    from observatory.warehouse.bootstrap import set_bi_reader_password

    with connection.connect() as conn:
        set_bi_reader_password(conn)
    settings = SupersetSettings.from_env()
    dashboard_id = configure_superset(settings)
    dashboard = f"{settings.url}/superset/dashboard/{DASHBOARD_SLUG}/"
    print(f"bi-setup: bi_reader can log in; Superset dashboard {dashboard_id} at {dashboard}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
