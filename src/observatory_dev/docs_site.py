"""``make docs``: the project's generated documentation in one folder (default ``.local/docs``).

- ``dbt/``: dbt docs (``dbt docs generate --static``): ``static_index.html`` is one self-contained page that opens
  from disk; ``index.html`` with ``manifest.json`` and ``catalog.json`` is the classic site (serve the folder,
  e.g. ``python -m http.server -d .local/docs/dbt``). The catalog reads the warehouse in use.
- ``gx/``: Great Expectations Data Docs: every suite, and each source's suite run on its published rows
  (``observatory.quality.data_docs``).
- ``index.html``: links to both.

dbt writes into a temporary target path, so the manifest that the transformation DAG is rendered from
(``dbt_project/target``) is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from observatory.config.settings import Settings

DBT_DOC_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json")


class DocsBuildFailed(RuntimeError):
    """dbt or GX could not build its documentation."""


def dbt_command(
    args: list[str], conninfo: str, project_dir: Path | None = None, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess:
    """Run dbt against the warehouse ``conninfo`` (on the settings' project unless ``project_dir`` is given); with
    ``check``, raises ``DocsBuildFailed`` with dbt's output tail when dbt fails."""
    from observatory.warehouse.connection import dbt_env

    project_dir = project_dir or Settings.from_env().dbt_project_dir

    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            *args,
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
        ],
        env={**os.environ, **dbt_env(conninfo)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise DocsBuildFailed(f"dbt {' '.join(args[:2])} failed:\n{(result.stdout + result.stderr)[-4000:]}")
    return result


def build_dbt_docs(target: Path, conninfo: str) -> Path:
    """``dbt docs generate --static`` into ``target``; returns the self-contained page."""
    with tempfile.TemporaryDirectory(prefix="dbt-docs-") as tmp:
        dbt_command(["docs", "generate", "--static", "--target-path", tmp], conninfo)
        target.mkdir(parents=True, exist_ok=True)
        for name in DBT_DOC_FILES:
            shutil.copy2(Path(tmp) / name, target / name)
    return target / "static_index.html"


def build_gx_docs(target: Path) -> Path:
    """GX Data Docs of the warehouse in use (``OBSERVATORY_WAREHOUSE_DSN`` or the local cluster)."""
    from observatory.quality.data_docs import build_data_docs

    return build_data_docs(target)


def write_index(target: Path, pages: dict[str, Path]) -> Path:
    links = "\n".join(
        f'    <li><a href="{path.relative_to(target).as_posix()}">{label}</a></li>' for label, path in pages.items()
    )
    index = target / "index.html"
    index.write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Observatory docs</title></head>\n'
        "<body>\n  <h1>Integrating Cities Observatory: documentation</h1>\n"
        f"  <p>Built {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by <code>make docs</code>.</p>\n  <ul>\n{links}\n  </ul>\n"
        "</body></html>\n",
        encoding="utf-8",
    )
    return index


def build_docs(target: Path | None = None, conninfo: str | None = None) -> dict[str, Path]:
    """dbt docs and GX Data Docs under ``target``; returns label → page."""
    from observatory.warehouse import connection
    from observatory.warehouse.bootstrap import ensure_warehouse

    target = target or Settings.from_env().local_dir / "docs"
    if conninfo is None:
        conninfo = ensure_warehouse()
    previous = os.environ.get(connection.DSN_ENV)
    os.environ[connection.DSN_ENV] = conninfo  # observatory.quality.data_docs reads the warehouse in use
    try:
        pages = {
            "dbt docs: models, sources, tests and lineage (self-contained page)": build_dbt_docs(
                target / "dbt", conninfo
            ),
            "GX Data Docs: expectation suites and validation of the published raw data": build_gx_docs(target / "gx"),
        }
    finally:
        if previous is None:
            os.environ.pop(connection.DSN_ENV, None)
        else:
            os.environ[connection.DSN_ENV] = previous
    pages["dbt docs (classic site: serve .local/docs/dbt over HTTP)"] = target / "dbt" / "index.html"
    pages = {"Documentation index": write_index(target, pages), **pages}
    return pages


def main() -> int:
    try:
        pages = build_docs()
    except DocsBuildFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    for label, path in pages.items():
        print(f"{path.resolve()}  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
