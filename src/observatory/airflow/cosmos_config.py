"""The dbt project and profile as astronomer-cosmos sees them, shared by every DAG that runs dbt."""

from __future__ import annotations

from cosmos import ProfileConfig, ProjectConfig

from observatory.config.settings import Settings


def project_config(settings: Settings | None = None) -> ProjectConfig:
    project_dir = (settings or Settings.from_env()).dbt_project_dir
    return ProjectConfig(
        manifest_path=project_dir / "target" / "manifest.json", project_name="observatory", dbt_project_path=project_dir
    )


def profile_config(settings: Settings | None = None) -> ProfileConfig:
    """The project's own ``profiles.yml``: its connection comes from the environment (``observatory env``)."""
    project_dir = (settings or Settings.from_env()).dbt_project_dir
    return ProfileConfig(
        profile_name="observatory", target_name="warehouse", profiles_yml_filepath=project_dir / "profiles.yml"
    )
