"""The whole pipeline once, on the bundled sample data, through real Airflow, dbt, GX and PostgreSQL."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from observatory.collect import planned_resources
from observatory.config.registry import load_registry
from observatory.config.settings import Settings
from observatory.quality.health import print_health
from observatory.reporting.report import write_report
from observatory.reporting.summary import print_summary
from observatory.warehouse import connection
from observatory.warehouse.bootstrap import ensure_warehouse
from observatory_dev.airflow_runner import airflow_env, build_manifest, migrate_metadata, test_dag
from observatory_dev.sample_server import MIRROR_INDEX, serve_directory


def run_demo(logical_date: datetime | None = None) -> None:
    """Every DAG once through ``airflow dags test``. Without ``logical_date`` each run's logical date is the moment
    it starts, as for a run triggered by hand: Airflow records a run's start time as its logical date, so the runs
    keep their real start and end times, and none takes the logical date of a scheduled interval (midnight), whose
    scheduled run therefore still runs."""
    started = time.monotonic()
    conninfo = ensure_warehouse()
    server, base_url = serve_directory()
    try:
        env = airflow_env(conninfo, {"OBSERVATORY_SAMPLE_BASE_URL": base_url, "OBSERVATORY_MIRROR_URL": base_url})
        step("Airflow metadata DB", migrate_metadata, env)
        step("dbt manifest", build_manifest, env)
        for source_id in load_registry().sources:
            step(f"DAG collect__{source_id}", test_dag, f"collect__{source_id}", run_date(logical_date), env)
        step("DAG transform_warehouse (dbt via cosmos)", test_dag, "transform_warehouse", run_date(logical_date), env)
    finally:
        server.shutdown()
    print(f"\npipeline finished in {time.monotonic() - started:.0f}s; warehouse: {redact(conninfo)}\n")
    quality_gate_drill(run_date(logical_date) + timedelta(hours=1))
    step(
        "DAG data_health (dbt source freshness, audit.data_health)",
        test_dag,
        "data_health",
        run_date(logical_date),
        env,
    )
    with connection.connect() as conn:
        print_summary(conn)
        print()
        print_health(conn)
    report = write_report(conninfo=conninfo)
    print(
        f"\nindicator report (gaps over time, scoreboard, funding per city): {report.resolve()}"
        "\n  open it in a browser; `make report` renders it again from the marts"
    )


def run_date(logical_date: datetime | None) -> datetime:
    """The logical date of the next run: the one given, else now (whole seconds, as load ids keep them)."""
    return logical_date or datetime.now(UTC).replace(microsecond=0)


DRILL_SOURCE = "eurostat_lfsa_urgan"
DRILL_FILE = "eurostat/estat_lfsa_urgan_filtered.tsv"


def quality_gate_drill(logical_date: datetime) -> None:
    """Collect one source again from a deliberately broken copy of its file (first rate set to 180 %): the gate
    must quarantine the batch, and the raw rows and marts must keep what they had."""
    from observatory import pipeline
    from observatory.quality.gate import QualityGateFailed

    counts = (
        "select (select count(*) from raw.eurostat_observation where source_id = %s), "
        "(select count(*) from marts.fct_indicator_observation)"
    )
    with connection.connect() as conn:
        before = conn.execute(counts, (DRILL_SOURCE,)).fetchone()
    with tempfile.TemporaryDirectory() as folder:
        broken = Path(folder) / DRILL_FILE
        broken.parent.mkdir(parents=True)
        sample = (Settings.from_env().sample_data_dir / DRILL_FILE).read_bytes()
        broken.write_bytes(with_first_value_replaced(sample, b"180.0 "))
        (Path(folder) / MIRROR_INDEX).parent.mkdir()
        (Path(folder) / MIRROR_INDEX).write_text(
            yaml.safe_dump([{"url": planned_resources(load_registry()[DRILL_SOURCE])[0][0], "file": DRILL_FILE}])
        )
        server, base_url = serve_directory(Path(folder))
        previous = os.environ.get("OBSERVATORY_MIRROR_URL")
        os.environ["OBSERVATORY_MIRROR_URL"] = base_url
        try:
            pipeline.run_source(DRILL_SOURCE, logical_date)
        except QualityGateFailed:
            pass
        else:
            raise RuntimeError("quality gate drill: a batch with a rate of 180 % was published")
        finally:
            server.shutdown()
            if previous is None:
                os.environ.pop("OBSERVATORY_MIRROR_URL", None)
            else:
                os.environ["OBSERVATORY_MIRROR_URL"] = previous
    load_id = pipeline.load_id_for(DRILL_SOURCE, logical_date)
    with connection.connect() as conn:
        after = conn.execute(counts, (DRILL_SOURCE,)).fetchone()
        status, message = conn.execute(
            "select status, message from audit.batch where load_id = %s", (load_id,)
        ).fetchone()
    print(
        f"quality gate drill: batch {load_id} {status} (table quarantine.{load_id}); raw rows of {DRILL_SOURCE} "
        f"{before[0]} -> {after[0]}; marts.fct_indicator_observation rows {before[1]} -> {after[1]}"
    )
    print(f"  reason: {message[:300]}\n")


def with_first_value_replaced(tsv: bytes, value: bytes) -> bytes:
    """The Eurostat TSV with the first data cell replaced (a deliberately broken copy, never written to sample_data)."""
    header, first, rest = tsv.split(b"\n", 2)
    cells = first.split(b"\t")
    cells[1] = value
    return b"\n".join([header, b"\t".join(cells), rest])


def step(label: str, function, *args) -> None:
    started = time.monotonic()
    function(*args)
    print(f"ok  {label} ({time.monotonic() - started:.1f}s)", flush=True)


def redact(conninfo: str) -> str:
    parts = connection.dsn_parts(conninfo)
    return f"postgresql://{parts['user']}:***@{parts['host']}:{parts['port']}/{parts['dbname']}"
