"""Where things live. Every path can be moved with an environment variable; defaults are project-relative."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("OBSERVATORY_HOME", Path(__file__).resolve().parents[3]))
LOCAL_DIR = Path(os.environ.get("OBSERVATORY_LOCAL_DIR", PROJECT_ROOT / ".local"))
LANDING_DIR = Path(os.environ.get("OBSERVATORY_LANDING_DIR", LOCAL_DIR / "landing"))
REGISTRY_PATH = Path(os.environ.get("OBSERVATORY_REGISTRY", PROJECT_ROOT / "sources.yml"))
EXPECTATIONS_DIR = Path(os.environ.get("OBSERVATORY_EXPECTATIONS_DIR", PROJECT_ROOT / "expectations"))
DBT_PROJECT_DIR = Path(os.environ.get("OBSERVATORY_DBT_PROJECT_DIR", PROJECT_ROOT / "dbt_project"))
SAMPLE_DATA_DIR = PROJECT_ROOT / "sample_data"
DAGS_DIR = PROJECT_ROOT / "dags"
PLUGINS_DIR = PROJECT_ROOT / "plugins"
