"""docker-compose.yml and the Dockerfile: every service of the production stack, healthchecks, named volumes,
the image built from the lock file, settings from .env; the init service's script run for real against
PostgreSQL (Airflow 3.3 with the FAB auth manager); Superset as the BI service, the release and settings that
`make bi` runs (tests/integration/test_superset.py); and the BI setup against a stand-in Superset API.

No Docker engine runs here and images cannot be pulled, so nothing is started in containers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
import yaml

from observatory.warehouse import connection

PROJECT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = PROJECT / "docker-compose.yml"
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
ONE_OFF = {"airflow-init", "bi-setup"}
ALL_SERVICES = AIRFLOW_SERVICES | ONE_OFF | {"redis", "airflow-db", "warehouse", "superset"}
VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_]\w*))"
)


class MissingVariable(KeyError):
    """A ``${VAR:?message}`` / ``${VAR?message}`` whose variable is not set."""


def interpolate(value: object, env: dict[str, str]) -> object:
    """Compose's variable interpolation (``$$``, ``${V}``, ``${V:-d}``, ``${V-d}``, ``${V:?e}``, ``${V?e}``,
    ``${V:+r}``, ``${V+r}``, ``$V``) over every string of a loaded compose file."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name, op, arg = match["name"] or match["bare"], match["op"], match["arg"] or ""
        is_set, current = name in env, env.get(name, "")
        present = is_set and (current != "" or not (op or "").startswith(":"))
        if op in (":-", "-"):
            return current if present else arg
        if op in (":?", "?"):
            if not present:
                raise MissingVariable(f"{name}: {arg}")
            return current
        if op in (":+", "+"):
            return arg if present else ""
        return current

    return VARIABLE.sub(substitute, value)


def referenced_variables(text: str) -> dict[str, bool]:
    """Variable name → whether some reference requires it (``:?``/``?``)."""
    found: dict[str, bool] = {}
    for match in VARIABLE.finditer(text):
        name = match["name"] or match["bare"]
        if name:
            found[name] = found.get(name, False) or (match["op"] or "").endswith("?")
    return found


def example_env() -> dict[str, str]:
    """Every ``NAME=value`` of .env.example, commented out or not: what a user copies into .env."""
    pairs = re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", (PROJECT / ".env.example").read_text(), flags=re.M)
    return {name: value.strip() for name, value in pairs}


@pytest.fixture(scope="module")
def raw_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # PyYAML resolves the anchors and << merge keys


@pytest.fixture(scope="module")
def compose(raw_compose: dict) -> dict:
    return interpolate(raw_compose, example_env())


def test_every_part_of_the_stack_is_a_named_service(compose: dict) -> None:
    assert set(compose["services"]) == ALL_SERVICES
    commands = {name: " ".join(compose["services"][name]["command"]) for name in AIRFLOW_SERVICES}
    assert commands == {
        "airflow-apiserver": "airflow api-server",
        "airflow-scheduler": "airflow scheduler",
        "airflow-dag-processor": "airflow dag-processor",
        "airflow-triggerer": "airflow triggerer",
        "airflow-worker": "airflow celery worker",
    }
    assert compose["services"]["redis"]["image"].startswith("redis:")
    assert compose["services"]["airflow-db"]["image"] == compose["services"]["warehouse"]["image"] == "postgres:16"


def test_long_running_services_have_healthchecks_and_wait_for_healthy_dependencies(compose: dict) -> None:
    services = compose["services"]
    for name, service in services.items():
        if name in ONE_OFF:
            assert service["restart"] == "no" and "healthcheck" not in service
            continue
        check = service["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL") and check["retries"] >= 3, name
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = "service_completed_successfully" if dependency in ONE_OFF else "service_healthy"
            assert condition == {"condition": expected}, (name, dependency)
    shell = {name: " ".join(services[name]["healthcheck"]["test"][1:]) for name in services if name not in ONE_OFF}
    assert "/api/v2/monitor/health" in shell["airflow-apiserver"]
    assert "localhost:8974/health" in shell["airflow-scheduler"]
    assert "--job-type DagProcessorJob" in shell["airflow-dag-processor"]
    assert "--job-type TriggererJob" in shell["airflow-triggerer"]
    assert "inspect ping" in shell["airflow-worker"] and "pg_isready" in shell["warehouse"]
    for name in AIRFLOW_SERVICES:
        assert {"redis", "airflow-db", "warehouse", "airflow-init"} <= set(services[name]["depends_on"]), name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"] == {"condition": "service_healthy"}
    assert "localhost:8088/health" in shell["superset"]
    assert services["bi-setup"]["depends_on"] == {
        "superset": {"condition": "service_healthy"},
        "airflow-init": {"condition": "service_completed_successfully"},
    }


def test_workers_scale_and_share_only_the_landing_zone_and_logs(compose: dict) -> None:
    services = compose["services"]
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale airflow-worker=N works
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        env = services[name]["environment"]
        assert sorted(services[name]["volumes"]) == [
            "airflow-logs:/opt/airflow/logs",
            f"landing:{env['OBSERVATORY_LANDING_DIR']}",
        ], name
    declared = set(compose["volumes"])
    mounts = [mount.split(":")[0] for service in services.values() for mount in service.get("volumes", [])]
    used = {source for source in mounts if not source.startswith("./")}  # named volumes; ./… are bind mounts
    assert used == declared == {"airflow-db", "warehouse", "redis", "landing", "airflow-logs", "superset"}
    assert services["airflow-db"]["volumes"] == ["airflow-db:/var/lib/postgresql/data"]
    assert services["warehouse"]["volumes"] == ["warehouse:/var/lib/postgresql/data"]


def test_airflow_3_settings_are_shared_by_every_airflow_service(compose: dict) -> None:
    services = compose["services"]
    envs = [services[name]["environment"] for name in AIRFLOW_SERVICES | {"airflow-init"}]
    shared = (
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__BROKER_URL",
        "OBSERVATORY_WAREHOUSE_DSN",
    )
    for key in shared:
        assert len({env[key] for env in envs}) == 1 and envs[0][key], key
    env = envs[0]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "True"  # production: an operator enables each DAG
    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    api_port = services["airflow-apiserver"]["ports"][0].rsplit(":", 1)[1]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"http://airflow-apiserver:{api_port}/execution/"
    assert "@airflow-db:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379/")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql")
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"
    assert "@warehouse:5432/observatory" in env["OBSERVATORY_WAREHOUSE_DSN"]
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/observatory/dags"
    assert not any(name.startswith("AIRFLOW__CORE__PLUGIN") for name in env)  # Airflow's default: $AIRFLOW_HOME/plugins


def test_airflow_image_is_built_from_the_dockerfile_that_installs_the_lock(compose: dict) -> None:
    services = compose["services"]
    images = {services[name]["image"] for name in AIRFLOW_SERVICES | ONE_OFF}
    assert len(images) == 1 and all(services[name]["build"] == "." for name in AIRFLOW_SERVICES | ONE_OFF)
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert re.search(r"^COPY\b.*\brequirements\.lock\b", dockerfile, flags=re.M)
    assert re.search(r"uv pip install\b[^\n]*-r requirements\.lock", dockerfile)
    assert re.search(r"uv pip install\b[^\n]*--no-deps \.(\s|$)", dockerfile)  # nothing resolved outside the lock
    # the runtime package only: the development tooling (demo, bench, fault lab, ...) stays out of the image
    assert re.search(r"^COPY\b.* src/observatory \./src/observatory$", dockerfile, flags=re.M)
    assert "observatory_dev" not in re.sub(r"#.*", "", dockerfile)
    makefile_uv = re.search(r"^UV_VERSION := (\S+)", (PROJECT / "Makefile").read_text(), flags=re.M)[1]
    assert f"uv=={makefile_uv}" in dockerfile
    for source in re.findall(r"^COPY --chown=\S+ (.+) \./\S*$", dockerfile, flags=re.M):
        for path in source.split():
            assert (PROJECT / path).exists(), f"Dockerfile copies missing {path}"
    uses_curl = any("curl" in json.dumps(services[name].get("healthcheck", {})) for name in AIRFLOW_SERVICES)
    assert not uses_curl or re.search(r"apt-get install[^\n]*\bcurl\b", dockerfile)
    ignored = (PROJECT / ".dockerignore").read_text().split()
    assert {".venv", ".local", ".env", ".git", "src/observatory_dev"} <= set(ignored)


def test_settings_come_from_dotenv_and_every_variable_is_documented(raw_compose: dict) -> None:
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        assert raw_compose["services"][name]["env_file"] == [{"path": ".env", "required": False}]
    referenced = referenced_variables(json.dumps(raw_compose))  # values only, not comments
    documented = example_env()
    assert set(referenced) - set(documented) == set(), "document these in .env.example"
    required = {name for name, is_required in referenced.items() if is_required}
    assert {
        "AIRFLOW_DB_PASSWORD",
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_FERNET_KEY",
        "WAREHOUSE_PASSWORD",
        "BI_READER_PASSWORD",
        "AIRFLOW_ADMIN_PASSWORD",
    } <= required
    for name in required:  # each secret is really required: without it the file does not render
        with pytest.raises(MissingVariable, match=name):
            interpolate(raw_compose, {key: value for key, value in documented.items() if key != name})


def test_compose_file_renders(raw_compose: dict, compose: dict, tmp_path: Path) -> None:
    """With the compose plugin installed, ``docker compose config`` must accept the file and render the same
    services, volumes and environments as our interpolation. Where it is not installed (this project's machines
    and CI: no Docker engine, no compose plugin), it asserts structurally instead, and that is all it checks
    there: every `$` is a valid reference or a `$$` escape, the file renders with .env.example's values, and
    every dependency and volume a service names is declared."""
    env_file = tmp_path / "example.env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in example_env().items()))
    docker = shutil.which("docker")
    has_compose = (
        docker is not None and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    )
    if has_compose:
        result = subprocess.run(
            [docker, "compose", "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config", "--format", "json"],
            capture_output=True,
            text=True,
            cwd=PROJECT,
        )
        assert result.returncode == 0, result.stderr
        rendered = json.loads(result.stdout)
        assert set(rendered["services"]) == set(compose["services"])
        assert set(rendered["volumes"]) == set(compose["volumes"])
        for name, service in rendered["services"].items():
            assert service.get("environment", {}) == {
                key: str(value) for key, value in compose["services"][name].get("environment", {}).items()
            }
        return
    # compose rejects a `$` that starts no valid reference ("invalid interpolation format")
    leftover = [
        text for text in re.findall(r'"((?:[^"\\]|\\.)*)"', json.dumps(raw_compose)) if "$" in VARIABLE.sub("", text)
    ]
    assert leftover == []
    for name, service in compose["services"].items():
        assert set(service.get("depends_on", {})) <= set(compose["services"]) - {name}, name
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            bind = source.startswith("./") and (PROJECT / source).exists()
            assert source in compose["volumes"] or bind, (name, mount)
        assert isinstance(service.get("command", []), list) or isinstance(service["command"], str)
    assert raw_compose["name"] == "observatory"


@pytest.mark.integration
def test_init_service_script_runs_against_real_postgres_and_again(
    compose: dict, warehouse_dsn: str, tmp_path: Path
) -> None:
    """The airflow-init command as written, with the container hosts mapped to the local cluster: Airflow 3.3
    metadata migration (FAB tables included), ``airflow users create`` (FAB auth manager), the warehouse
    connection, and the warehouse schemas. A second run must succeed and change nothing."""
    from cryptography.fernet import Fernet

    from observatory.warehouse.connection import dbt_env
    from observatory_dev.celery_harness import metadata_url

    service = compose["services"]["airflow-init"]
    database = f"airflow_init_{os.getpid()}"
    connection.ensure_database(database, recreate=True)
    home = tmp_path / "airflow_home"
    env = {
        **{key: str(value) for key, value in service["environment"].items()},
        "PATH": f"{PROJECT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__COSMOS__CACHE_DIR": str(tmp_path / "cosmos"),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url(database),
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url(database),
        "OBSERVATORY_LANDING_DIR": str(tmp_path / "landing"),
        connection.DSN_ENV: warehouse_dsn,
        **dbt_env(warehouse_dsn),
    }
    try:
        for attempt in (1, 2):
            result = subprocess.run(service["command"], env=env, capture_output=True, text=True, timeout=240)
            assert result.returncode == 0, f"run {attempt}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            assert "airflow-init: metadata migrated" in result.stdout
        with psycopg.connect(connection.local_dsn(database)) as conn:
            users = conn.execute("""select u.username, r.name from ab_user u join ab_user_role ur on ur.user_id = u.id
                                    join ab_role r on r.id = ur.role_id""").fetchall()
            connections = conn.execute("""select conn_type, host, is_encrypted from connection
                                          where conn_id = 'observatory_warehouse'""").fetchall()
        assert users == [(env["AIRFLOW_ADMIN_USER"], "Admin")]
        assert connections == [("postgres", "127.0.0.1", True)]
        with psycopg.connect(warehouse_dsn) as conn:
            schemas = {name for (name,) in conn.execute("select nspname from pg_namespace")}
        assert {"raw", "stage", "quarantine", "audit", "marts"} <= schemas
    finally:
        connection.drop_database(database)


def test_bi_service_is_the_superset_that_make_bi_runs(compose: dict) -> None:
    """One BI tool: the compose's Superset is built from bi/superset (the release pinned for `make bi`, the same
    settings file), and bi-setup imports the same asset files, mounted read-only."""
    from observatory_dev.bi import Superset

    services = compose["services"]
    superset, setup = services["superset"], services["bi-setup"]
    folder = PROJECT / superset["build"]
    assert folder == Superset(Path("unused")).bi_dir
    dockerfile = (folder / "Dockerfile").read_text()
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", (folder / "requirements.txt").read_text(), flags=re.M))
    assert re.search(r"^FROM apache/superset:(\S+)$", dockerfile, flags=re.M)[1] == pins["apache-superset"]
    assert "psycopg2-binary==" in dockerfile and "requirements.txt" in dockerfile  # the driver at the pinned version
    config_path = re.search(r"^COPY superset_config\.py (\S+)$", dockerfile, flags=re.M)[1]
    assert re.search(r"^ENV SUPERSET_CONFIG_PATH=(\S+)$", dockerfile, flags=re.M)[1] == config_path
    config_reads = set(re.findall(r'os\.environ\["(\w+)"\]', (folder / "superset_config.py").read_text()))
    assert config_reads == {"SUPERSET_SECRET_KEY", "SUPERSET_METADATA_URI"} <= set(superset["environment"])
    volume, home = superset["volumes"][0].split(":")
    assert volume == "superset" and superset["environment"]["SUPERSET_METADATA_URI"] == f"sqlite:///{home}/superset.db"
    assert superset["ports"] == ["127.0.0.1:8088:8088"] and "gunicorn --bind 0.0.0.0:8088" in superset["command"][-1]
    assert setup["environment"]["SUPERSET_URL"] == "http://superset:8088"
    for key in ("SUPERSET_ADMIN_USER", "SUPERSET_ADMIN_PASSWORD"):
        assert setup["environment"][key] == superset["environment"][key]
    source, target, mode = setup["volumes"][0].split(":")
    assert (PROJECT / source).resolve() == folder / "assets" and mode == "ro"
    assert setup["environment"]["SUPERSET_ASSETS_DIR"] == target and (folder / "assets" / "metadata.yaml").exists()


def test_bi_setup_imports_the_assets_as_bi_reader(httpserver, tmp_path: Path) -> None:
    """observatory.reporting.bi_setup against a stand-in for Superset's API: log in, take the CSRF token, import the
    asset bundle with the database pointed at the warehouse as bi_reader and its password sent apart, then look
    the dashboard up by its slug."""
    import io
    import zipfile

    import yaml
    from werkzeug import Request, Response

    from observatory.reporting.bi_setup import DASHBOARD_SLUG, SupersetSettings, configure_superset

    settings = SupersetSettings(
        httpserver.url_for("").rstrip("/"),
        "admin",
        "admin-secret-1",
        "warehouse",
        5432,
        "observatory",
        "reader-secret-123",
        PROJECT / "bi" / "superset" / "assets",
    )
    imported: dict[str, object] = {}

    def import_assets(request: Request) -> Response:
        bundle = zipfile.ZipFile(io.BytesIO(request.files["bundle"].read()))
        imported["names"] = sorted(bundle.namelist())
        imported["text"] = b"".join(bundle.read(name) for name in bundle.namelist()).decode()
        (database,) = [name for name in bundle.namelist() if "/databases/" in name]
        imported["uri"] = yaml.safe_load(bundle.read(database))["sqlalchemy_uri"]
        imported["passwords"] = json.loads(request.form["passwords"])
        imported["csrf"] = request.headers.get("X-CSRFToken")
        return Response(json.dumps({"message": "OK"}), content_type="application/json")

    httpserver.expect_request("/health").respond_with_data("OK")
    httpserver.expect_oneshot_request(
        "/api/v1/security/login",
        method="POST",
        json={"username": "admin", "password": "admin-secret-1", "provider": "db", "refresh": False},
    ).respond_with_json({"access_token": "jwt-1"})
    httpserver.expect_oneshot_request(
        "/api/v1/security/csrf_token/", method="GET", headers={"Authorization": "Bearer jwt-1"}
    ).respond_with_json({"result": "csrf-1"})
    httpserver.expect_oneshot_request(
        "/api/v1/assets/import/", method="POST", headers={"Authorization": "Bearer jwt-1"}
    ).respond_with_handler(import_assets)
    httpserver.expect_oneshot_request(f"/api/v1/dashboard/{DASHBOARD_SLUG}", method="GET").respond_with_json(
        {"result": {"id": 4, "slug": DASHBOARD_SLUG}}
    )
    assert configure_superset(settings, timeout=5) == 4
    assert httpserver.oneshot_handlers == [], "every expected call was made"
    httpserver.check_assertions()
    assets = sorted(path.relative_to(settings.assets_dir).as_posix() for path in settings.assets_dir.rglob("*.yaml"))
    assert imported["names"] == [f"observatory_bi/{name}" for name in assets]
    assert {"metadata.yaml", "databases/observatory_marts.yaml", "dashboards/integrating_cities.yaml"} <= set(assets)
    assert imported["uri"] == "postgresql+psycopg2://bi_reader:XXXXXXXXXX@warehouse:5432/observatory"
    assert imported["passwords"] == {"databases/observatory_marts.yaml": "reader-secret-123"}
    assert "reader-secret-123" not in str(imported["text"]) and imported["csrf"] == "csrf-1"
