"""The local stack of `make up` with the real scheduler: a run triggered through the REST API publishes, its asset
event starts `transform_warehouse` (nobody unpauses anything), the marts change; a backfill of three intervals runs
one at a time and leaves the rows as they were; a failed batch's log ends with its summary line and its run carries
a note; `make down` leaves no process.

One stack for the module (its own home, ports, warehouse and metadata databases), so the checks share its start-up.
To keep it short on two cores: its DAGs folder holds the collection and transformation DAG files only (the daily
quality DAGs are not under test here); the transformation renders the mart under test and its parents only
(`OBSERVATORY_DBT_SELECT`); and the source is collected once before the stack starts, so the scheduled run the
unpaused DAG makes at once finds the content unchanged and starts no transformation of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
import yaml
from psycopg import sql

from observatory.config.settings import Settings
from observatory.warehouse import connection
from observatory_dev.local_stack import ApiClient, Stack, backfill, down, running_pid, trigger, up
from observatory_dev.process_groups import process_tree

pytestmark = [pytest.mark.integration, pytest.mark.scheduler]

SOURCE = "eurostat_lfsa_ergan"
BROKEN = "broken_lfsa_urgan"  # a copy of eurostat_lfsa_urgan over plain HTTP whose first rate is 180 %
ERGAN_FILE = "eurostat/estat_lfsa_ergan_filtered.tsv"
CHANGED_LINE = "A,PC,T,Y20-64,NEU27_2020_FOR,DE\t"  # its 2024 value: 62.6 in the sample, 63.6 once changed
TERMINAL = {"success", "failed"}
RATE = """select observation_value from marts.fct_indicator_observation where indicator_id = 'employment_rate'
          and geo_code = 'DE' and time_period = '2024' and population_group = 'NEU27_2020_FOR' and sex = 'T'"""
RAW_RATE = """select value from raw.eurostat_observation where source_id = %s and geo = 'DE' and time_period = '2024'
              and dimensions ->> 'citizen' = 'NEU27_2020_FOR' and dimensions ->> 'sex' = 'T'"""
MART_DIGEST = "select count(*), md5(string_agg(t::text, '|' order by t::text)) from marts.fct_indicator_observation t"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(what: str, check: Callable[[], Any], timeout: float = 300.0) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(2.0)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def sample_copy(target: Path) -> Path:
    """The bundled sample data with the broken source's file added (the first rate set to 180 %)."""
    from observatory_dev.demo import with_first_value_replaced

    shutil.copytree(Settings.from_env().sample_data_dir, target)
    urgan = (target / "eurostat" / "estat_lfsa_urgan_filtered.tsv").read_bytes()
    (target / "eurostat" / f"{BROKEN}.tsv").write_bytes(with_first_value_replaced(urgan, b"180.0 "))
    return target


def registry(folder: Path) -> Path:
    """``folder/sources.yml``: the project's entry for SOURCE, and BROKEN (no retries, so it fails at once)."""
    document = yaml.safe_load(Settings.from_env().registry_path.read_text(encoding="utf-8"))
    broken = {k: v for k, v in document["sources"]["eurostat_lfsa_urgan"].items() if k != "collect"}
    broken |= {"collector": "http", "urls": [f"${{OBSERVATORY_SAMPLE_BASE_URL}}/eurostat/{BROKEN}.tsv"], "retries": 0}
    document["sources"] = {SOURCE: document["sources"][SOURCE], BROKEN: broken}
    target = folder / "sources.yml"
    target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return target


def collect_once(settings: Settings, sample_dir: Path) -> None:
    """Publish SOURCE from the sample copy, in this process, as an earlier run would have."""
    from observatory import pipeline
    from observatory_dev.sample_server import serve_directory

    server, base_url = serve_directory(sample_dir)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("OBSERVATORY_MIRROR_URL", base_url)
            patch.setenv("OBSERVATORY_LANDING_DIR", str(settings.landing_dir))
            pipeline.run_source(SOURCE, datetime(2026, 10, 1, tzinfo=UTC), Settings.from_env())
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def stack(warehouse_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    dags = root / "dags"
    dags.mkdir()
    for name in ("collect_sources.py", "transform_warehouse.py"):
        (dags / name).symlink_to(Settings.from_env().dags_dir / name)
    settings = Settings.from_env(
        {**os.environ, "OBSERVATORY_LOCAL_DIR": str(root / "local"), "OBSERVATORY_REGISTRY": str(registry(root))}
    )
    stack = Stack(
        settings,
        api_port=free_port(),
        mirror_port=free_port(),
        metadata_db=f"airflow_test_{free_port()}",
        sample_dir=sample_copy(root / "sample_data"),
        # the mart under test and its parents: 6 dbt tasks rather than the project's 40, and only the tests
        # between them (the others refer to models this warehouse never builds)
        extra_env={
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "OBSERVATORY_DBT_SELECT": "+fct_indicator_observation",
            "DBT_INDIRECT_SELECTION": "cautious",
        },
    )
    collect_once(settings, stack.sample_dir)  # type: ignore[arg-type]
    try:
        seconds = up(stack)
        print(f"\nstack healthy in {seconds:.1f}s")
        yield stack
    finally:
        # the warehouse cluster is shared with the rest of the suite: stop everything else (make down stops it too)
        down(stack, stop_warehouse=False)
        connection.drop_database(stack.metadata_db)


@pytest.fixture(scope="module")
def api(stack: Stack) -> ApiClient:
    return ApiClient.login(stack)


def runs(api: ApiClient, dag_id: str, **params: Any) -> list[dict]:
    return api.call("GET", f"/dags/{dag_id}/dagRuns", limit=100, order_by="start_date", **params)["dag_runs"]


def finished(api: ApiClient, dag_id: str, count: int = 1) -> list[dict] | None:
    """The finished runs of ``dag_id`` once there are ``count`` of them."""
    done = [run for run in runs(api, dag_id) if run["state"] in TERMINAL]
    return done if len(done) >= count else None


@pytest.fixture(scope="module")
def first_runs(stack: Stack, api: ApiClient) -> dict[str, list[dict]]:
    """What the scheduler ran by itself once the DAGs were created unpaused: each collection DAG's latest
    interval."""
    return {
        dag_id: wait_for(f"the scheduled run of {dag_id}", lambda dag_id=dag_id: finished(api, dag_id))
        for dag_id in (f"collect__{SOURCE}", f"collect__{BROKEN}")
    }


def test_dags_start_unpaused_and_the_scheduled_runs_run(api: ApiClient, first_runs: dict[str, list[dict]]) -> None:
    [scheduled] = first_runs[f"collect__{SOURCE}"]
    assert (scheduled["run_type"], scheduled["state"]) == ("scheduled", "success")
    tasks = api.call("GET", f"/dags/collect__{SOURCE}/dagRuns/{scheduled['dag_run_id']}/taskInstances")
    states = {task["task_id"]: task["state"] for task in tasks["task_instances"]}
    # the content is the one collected before: nothing to publish, so no asset event and no transformation
    assert states == {"fetch": "success", "stage": "success", "validate": "success", "publish": "skipped"}
    assert runs(api, "transform_warehouse") == []


def test_a_failed_batch_ends_its_log_with_a_summary_line_and_notes_its_run(
    stack: Stack, api: ApiClient, first_runs: dict[str, list[dict]]
) -> None:
    [run] = first_runs[f"collect__{BROKEN}"]
    assert run["state"] == "failed"
    load_id = f"{BROKEN}__{datetime.fromisoformat(run['logical_date']):%Y%m%d_%H%M%S}"
    log_file = next((stack.home / "logs" / f"dag_id=collect__{BROKEN}").glob("run_id=*/task_id=validate/attempt=1.log"))
    events = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    shown = [e for e in events if not e["event"].startswith(("::group::", "::endgroup::"))]
    last = shown[-1]["event"]
    assert last.startswith(
        f"observatory failure: source={BROKEN} batch={load_id} status=quarantined step=validate "
        f"reason=QualityGateFailed: batch {load_id} failed suite 'eurostat_rates': "
    ), last
    landing = stack.settings.landing_dir / BROKEN
    assert f"evidence=quarantine table quarantine.{load_id}; rejected records 0 " in last
    assert f"landing {landing}/" in last
    assert not [e for e in events if str(e.get("logger", "")).startswith("great_expectations")]
    assert len(events) < 60, f"{len(events)} log lines"
    assert run["note"] == last  # shown on the run's page


@pytest.fixture(scope="module")
def triggered(stack: Stack, api: ApiClient, first_runs: dict[str, list[dict]], warehouse_dsn: str) -> dict[str, Any]:
    """Change one value of the publisher's file, trigger the collection through the REST API; once it has
    succeeded, start a backfill of three earlier intervals (it runs while the asset-triggered transformation
    does); wait for both. Keeps the rates before and after and the seconds from trigger to marts."""
    with psycopg.connect(warehouse_dsn) as conn:
        before = conn.execute(RAW_RATE, (SOURCE,)).fetchone()
    path = stack.sample_dir / ERGAN_FILE  # type: ignore[operator]
    lines = path.read_text(encoding="utf-8").split("\n")
    [index] = [i for i, line in enumerate(lines) if line.startswith(CHANGED_LINE)]
    cells = lines[index].split("\t")
    assert cells[-1].strip() == "62.6"
    lines[index] = "\t".join([*cells[:-1], "63.6 "])
    path.write_text("\n".join(lines), encoding="utf-8")
    started = time.monotonic()
    run_id = trigger(api, f"collect__{SOURCE}", datetime.now(UTC))
    dag_id = f"collect__{SOURCE}"
    wait_for("the triggered run", lambda: finished(api, dag_id, 2))
    backfill_id = backfill(api, dag_id, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    [transform] = wait_for("the transformation the triggered run starts", lambda: finished(api, "transform_warehouse"))
    seconds = time.monotonic() - started
    print(f"\ntrigger to marts: {seconds:.1f}s")
    with psycopg.connect(warehouse_dsn) as conn:
        after = conn.execute(RATE).fetchone()
        marts = conn.execute(MART_DIGEST).fetchone()
    wait_for("the backfill", lambda: api.call("GET", f"/backfills/{backfill_id}")["completed_at"])
    print(f"trigger to the backfill's end: {time.monotonic() - started:.1f}s")
    collected = api.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
    return {"before": before, "after": after, "marts": marts, "run": collected, "transform": transform}


def test_a_triggered_collection_starts_the_transformation_and_changes_the_marts(triggered: dict[str, Any]) -> None:
    assert triggered["run"]["state"] == "success"
    assert (triggered["transform"]["run_type"], triggered["transform"]["state"]) == ("asset_triggered", "success")
    assert (triggered["before"], triggered["after"]) == ((62.6,), (63.6,))  # raw before, the mart after


def test_a_backfill_runs_its_intervals_one_at_a_time_and_keeps_the_latest_content(
    api: ApiClient, triggered: dict[str, Any], warehouse_dsn: str
) -> None:
    dag_id = f"collect__{SOURCE}"
    triggered_batch = f"{SOURCE}__{datetime.fromisoformat(triggered['run']['logical_date']):%Y%m%d_%H%M%S}"
    backfilled = runs(api, dag_id, run_type=["backfill"])
    assert [(r["logical_date"][:10], r["state"]) for r in sorted(backfilled, key=lambda r: r["logical_date"])] == [
        ("2026-11-01", "success"),
        ("2026-11-02", "success"),
        ("2026-11-03", "success"),
    ]
    for earlier, later in zip(backfilled, backfilled[1:], strict=False):
        assert later["start_date"] >= earlier["end_date"], "backfill runs overlapped"
    with psycopg.connect(warehouse_dsn) as conn:
        published = conn.execute(
            "select distinct load_id from raw.eurostat_observation where source_id = %s", (SOURCE,)
        ).fetchall()
        statuses = conn.execute(
            """select status from audit.batch where source_id = %s
               and logical_date between '2026-11-01' and '2026-11-03' order by load_id""",
            (SOURCE,),
        ).fetchall()
        marts = conn.execute(MART_DIGEST).fetchone()
    # each backfilled interval fetched what the publisher serves now, the content raw already holds: nothing
    # loaded, raw keeps the batch that fetched it first (the triggered run, a later logical date), no
    # transformation was started, and the marts are exactly as the triggered run left them
    assert statuses == [("unchanged",)] * 3
    assert published == [(triggered_batch,)]
    assert len(runs(api, "transform_warehouse")) == 1
    assert marts == triggered["marts"]


@pytest.fixture(scope="module")
def data_health(stack: Stack, first_runs: dict[str, list[dict]], warehouse_dsn: str) -> list[dict[str, Any]]:
    """Today's ``audit.data_health`` of this warehouse, written as the data_health DAG's ``summarise`` task does
    (the daily quality DAGs are not in this stack's DAGs folder), read back with a direct query."""
    from psycopg.rows import dict_row

    from observatory.config.registry import load_registry
    from observatory.quality.health import write_daily_summary

    with psycopg.connect(warehouse_dsn) as conn:
        write_daily_summary(conn, datetime.now(UTC).date(), load_registry(settings=stack.settings))
        with conn.cursor(row_factory=dict_row) as cursor:
            return cursor.execute("select * from audit.data_health order by source_id").fetchall()


def test_the_observatory_plugin_loads_in_the_api_server(api: ApiClient) -> None:
    plugins = {plugin["name"]: plugin for plugin in api.call("GET", "/plugins")["plugins"]}
    plugin = plugins["observatory"]
    assert [(app["url_prefix"], app["name"]) for app in plugin["fastapi_apps"]] == [("/observatory", "Observatory")]
    assert [(view["name"], view["url_route"]) for view in plugin["external_views"]] == [("Observatory", "observatory")]
    assert api.call("GET", "/plugins/importErrors")["import_errors"] == []


def test_the_observatory_page_returns_the_rows_of_audit_data_health(
    stack: Stack, api: ApiClient, data_health: list[dict[str, Any]], warehouse_dsn: str
) -> None:
    import requests

    url = f"{stack.ui_url}/observatory"
    assert requests.get(f"{url}/health", timeout=30).status_code == 401  # Airflow's login, like the rest of the UI
    login = {"Authorization": f"Bearer {api.token}"}
    shown = requests.get(f"{url}/health", headers=login, timeout=30).json()
    keys = ("source_id", "health_status", "last_batch_load_id", "last_batch_status", "quarantined_total")
    assert [tuple(row[k] for k in keys) for row in shown["rows"]] == [tuple(r[k] for k in keys) for r in data_health]
    assert [row["source_id"] for row in shown["rows"]] == [BROKEN, SOURCE]
    assert shown["health_date"] == data_health[0]["health_date"].isoformat()
    evidence = requests.get(f"{url}/sources/{BROKEN}/rejected", headers=login, timeout=30).json()
    quarantined = evidence["last_quarantined_batch"]
    with psycopg.connect(warehouse_dsn) as conn:
        [(load_id,)] = conn.execute(
            "select load_id from audit.batch where source_id = %s and status = 'quarantined'", (BROKEN,)
        ).fetchall()
        quarantine_table = sql.Identifier("quarantine", load_id)
        [(count,)] = conn.execute(sql.SQL("select count(*) from {}").format(quarantine_table)).fetchall()
        rejected = conn.execute("select count(*) from audit.rejected_record where load_id = %s", (load_id,)).fetchone()
    assert (quarantined["load_id"], quarantined["table"], quarantined["rows"]) == (
        load_id,
        f"quarantine.{load_id}",
        count,
    )
    assert count > 0
    assert (len(evidence["rejected"]),) == rejected
    assert evidence["dag"] == f"/dags/collect__{BROKEN}"


def test_chromium_logs_in_and_finds_the_sources_on_the_observatory_view(
    stack: Stack, data_health: list[dict[str, Any]]
) -> None:
    from urllib.parse import urlsplit

    from playwright.sync_api import sync_playwright

    from observatory_dev.browser import launch_options

    screenshot = Settings.from_env().local_dir / "stack" / "observatory_view.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options())
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        try:
            page.route(
                "**/*",
                lambda route: (
                    route.continue_() if urlsplit(route.request.url).hostname == "127.0.0.1" else route.abort()
                ),
            )
            page.set_default_timeout(60_000)
            page.goto(stack.ui_url)  # to the login form
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", stack.password())
            page.keyboard.press("Enter")
            page.get_by_test_id("nav-sidebar").get_by_role("link", name="Observatory", exact=True).click()
            page.wait_for_url("**/plugin/observatory")
            view = page.frame_locator("iframe")
            row = view.locator(f'tr[data-source="{SOURCE}"]')
            row.wait_for()
            assert SOURCE in row.inner_text()
            assert view.locator(f'tr[data-source="{BROKEN}"]').get_attribute("class") == "error"
        finally:
            page.screenshot(path=str(screenshot), full_page=True)
            browser.close()
    assert screenshot.stat().st_size > 10_000


def test_the_stack_listens_on_loopback_only_and_serves_task_logs_from_their_files(
    stack: Stack, api: ApiClient, first_runs: dict[str, list[dict]]
) -> None:
    listening = set()
    for part in ("mirror", "dag-processor", "scheduler", "triggerer", "api-server"):
        pid = running_pid(stack, part)
        assert pid, part
        for process in process_tree(pid):
            with contextlib.suppress(psutil.NoSuchProcess):
                listening |= {
                    (part, c.laddr.ip, c.laddr.port)
                    for c in process.net_connections(kind="inet")
                    if c.status == psutil.CONN_LISTEN
                }
    assert {("api-server", "127.0.0.1", stack.api_port), ("mirror", "127.0.0.1", stack.mirror_port)} <= listening
    assert {ip for _, ip, _ in listening} == {"127.0.0.1"}, listening
    # without the log servers the api-server still shows a task's log: the failed validation's, summary included
    [run] = first_runs[f"collect__{BROKEN}"]
    log = api.call("GET", f"/dags/collect__{BROKEN}/dagRuns/{run['dag_run_id']}/taskInstances/validate/logs/1")
    events = [item.get("event", "") for item in log["content"] if isinstance(item, dict)]
    assert any(event.startswith(f"observatory failure: source={BROKEN} ") for event in events), events[-5:]


def test_make_down_leaves_no_process(stack: Stack, triggered: dict[str, Any]) -> None:
    parts = ("mirror", "dag-processor", "scheduler", "triggerer", "api-server")
    pids = {part: running_pid(stack, part) for part in parts}
    assert all(pids.values()), pids
    stopped = down(stack, stop_warehouse=False)
    assert sorted(stopped) == sorted(parts)
    left = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.environ().get("AIRFLOW_HOME") == str(stack.home) or process.pid in pids.values():
                left.append(process.info)
        except psutil.Error:
            continue
    assert left == []
    assert down(stack, stop_warehouse=False) == []  # safe to call again
