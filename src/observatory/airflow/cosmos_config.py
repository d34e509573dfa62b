"""The dbt project and profile as astronomer-cosmos sees them, shared by every DAG that runs dbt."""

from __future__ import annotations

from cosmos import ProfileConfig, ProjectConfig

from observatory.config.settings import DBT_PROJECT_DIR


def project_config() -> ProjectConfig:
    return ProjectConfig(manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json", project_name="observatory",
                         dbt_project_path=DBT_PROJECT_DIR)


def profile_config() -> ProfileConfig:
    """The project's own ``profiles.yml``: its connection comes from the environment (``observatory env``)."""
    return ProfileConfig(profile_name="observatory", target_name="warehouse",
                         profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml")
