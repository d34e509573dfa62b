"""Where things live: one ``Settings`` object, read from the environment, passed to the code that needs a path.

Every path can be moved with an environment variable; the defaults are project-relative. Settings that are not paths:
``registry_profile`` (which registry entries run), ``mirror_url`` (a localhost mirror that answers every HTTP GET
instead of the real hosts, see ``observatory.collect.http.mirrored``) and the limits of the ``bi_reader`` login
(``bi_statement_timeout``, ``bi_connection_limit``: a runaway dashboard cannot starve the pipeline). Code takes a
``Settings`` (defaulting to ``Settings.from_env()`` at call time, never at import time), so a test or the fault lab
builds its own with ``Settings.from_env().replace(landing_dir=...)`` instead of patching module globals.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PROJECT_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Settings:
    project_root: Path  # OBSERVATORY_HOME
    local_dir: Path  # OBSERVATORY_LOCAL_DIR: local state (warehouse cluster, Airflow home, docs, report)
    landing_dir: Path  # OBSERVATORY_LANDING_DIR: the raw landing zone
    registry_path: Path  # OBSERVATORY_REGISTRY: the source registry (sources.yml)
    expectations_dir: Path  # OBSERVATORY_EXPECTATIONS_DIR: the GX suites
    dbt_project_dir: Path  # OBSERVATORY_DBT_PROJECT_DIR
    registry_profile: str = "demo"  # OBSERVATORY_REGISTRY_PROFILE: which registry entries run (see config.registry)
    mirror_url: str | None = None  # OBSERVATORY_MIRROR_URL: answer every HTTP GET from this mirror (collect.http)
    bi_statement_timeout: str = "120s"  # OBSERVATORY_BI_READER_STATEMENT_TIMEOUT: bi_reader's statement_timeout
    bi_connection_limit: int = 20  # OBSERVATORY_BI_READER_CONNECTION_LIMIT: bi_reader's concurrent connections

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        root = Path(env.get("OBSERVATORY_HOME", DEFAULT_PROJECT_ROOT))
        local = Path(env.get("OBSERVATORY_LOCAL_DIR", root / ".local"))
        return cls(
            project_root=root,
            local_dir=local,
            landing_dir=Path(env.get("OBSERVATORY_LANDING_DIR", local / "landing")),
            registry_path=Path(env.get("OBSERVATORY_REGISTRY", root / "sources.yml")),
            expectations_dir=Path(env.get("OBSERVATORY_EXPECTATIONS_DIR", root / "expectations")),
            dbt_project_dir=Path(env.get("OBSERVATORY_DBT_PROJECT_DIR", root / "dbt_project")),
            registry_profile=env.get("OBSERVATORY_REGISTRY_PROFILE", "demo"),
            mirror_url=env.get("OBSERVATORY_MIRROR_URL") or None,
            bi_statement_timeout=env.get("OBSERVATORY_BI_READER_STATEMENT_TIMEOUT", "120s"),
            bi_connection_limit=int(env.get("OBSERVATORY_BI_READER_CONNECTION_LIMIT", "20")),
        )

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def sample_data_dir(self) -> Path:
        return self.project_root / "sample_data"

    @property
    def dags_dir(self) -> Path:
        return self.project_root / "dags"

    @property
    def plugins_dir(self) -> Path:
        return self.project_root / "plugins"

    @property
    def dbt_sources_path(self) -> Path:
        """dbt's source file generated from the registry's freshness thresholds."""
        return self.dbt_project_dir / "models" / "staging" / "_registry__sources.yml"
