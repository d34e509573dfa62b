"""Funding benchmark: ``python -m observatory_dev.bench_funding [M] [--page-size P]`` (default 2,000,000 records).

``M`` synthetic operations of the EU cohesion open-data portal (``observatory_dev.generators.socrata``: the field
names and value shapes of dataset 557j-pmg8, 28 countries, each page generated when it is asked for) are served
from 127.0.0.1 with SODA paging (``$order=:id``, ``$limit``, ``$offset``; ``P`` records a page, default 10,000), and
collected by the registry's own all-countries entry ``funding_cohesion_2014_2020`` (its ``collect`` and ``parse``
options; only the URL and the page size changed) through the pipeline's public steps, in a database of its own
(``observatory_bench_funding``, recreated, dropped at the end) of the local PostgreSQL. Each stage runs in a fresh
(spawned) process, as Airflow runs them as separate tasks; its peak RSS is that process's ``ru_maxrss``
(interpreter and imports included; the modules a worker has loaded, GX among them, are imported before the clock
starts):

1. collect: ``pipeline.fetch`` (every page GET and landed as it comes);
2. parse+stage: ``pipeline.stage`` (each page parsed, each record's country mapped, COPY into ``stage.<load_id>``);
3. validate: ``pipeline.validate`` (the rejected-record share and the GX suite ``funding_operation``);
4. publish: ``pipeline.publish`` (replace the source's rows in ``raw.funding_operation``);
5. dbt build of the funding marts, ``+mart_funding_overview`` (seeds, staging, intermediate, ``fct_funding``,
   the overview and the data tests whose models are all selected: ``--indirect-selection cautious``; dbt unit
   tests, which test fixtures rather than the data, are left out), real dbt against the bench database; its RSS
   is the dbt process's (``RUSAGE_CHILDREN`` of the stage's process).

Rows per second are the ``M`` records over the stage's time. ``end_to_end_s`` is the wall time from the start of
collect to the end of the dbt build (process starts included), ``rows_per_s`` is ``M`` over it and
``peak_rss_mb`` the highest of the five stages. The last line is ``bench_funding records=<M> rows_per_s=<a>
peak_rss_mb=<m> end_to_end_s=<t>``; the exit status is 1 when the published rows or the mart's operations are not
the ``M`` records.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import psycopg
import yaml

from observatory.config.settings import Settings
from observatory.warehouse import connection
from observatory.warehouse.bootstrap import ensure_warehouse_schema
from observatory_dev.generators.socrata import DEFAULT_SEED, serve_socrata

DATABASE = "observatory_bench_funding"
DEFAULT_M = 2_000_000
DEFAULT_PAGE_SIZE = 10_000
LIVE_ENTRY = "funding_cohesion_2014_2020"
SOURCE_ID = "bench_funding_cohesion"
DAY = datetime(2026, 11, 1, tzinfo=UTC)
STAGES = ("collect", "parse+stage", "validate", "publish", "dbt build")
DBT_SELECT = "+mart_funding_overview"


def registry_entry(url: str, page_size: int) -> dict[str, Any]:
    """The registry's all-countries cohesion entry, fetching ``url`` ``page_size`` records a page."""
    document = yaml.safe_load(Settings.from_env().registry_path.read_text(encoding="utf-8"))
    entry = dict(document["sources"][LIVE_ENTRY])
    entry.pop("profiles", None)  # the default profile, which the pipeline's steps load
    entry["urls"] = [url]
    entry["collect"] = {**entry["collect"], "page_size": page_size}
    entry["description"] = f"Synthetic records in the shape of {LIVE_ENTRY}'s, for observatory_dev.bench_funding."
    entry["publisher"] = "observatory_dev.bench_funding"
    return entry


def run_stage(stage: str, landed: list[dict] | None, work: str) -> dict[str, Any]:
    """One stage in this (fresh) process: its time, result and peak RSS."""
    import observatory.collect.paged  # noqa: F401 - imported before the clock starts, like a worker has them
    import observatory.parse.funding_json  # noqa: F401
    import observatory.quality.gate  # noqa: F401
    from observatory import pipeline

    load_id = pipeline.load_id_for(SOURCE_ID, DAY)
    if stage == "validate":
        import great_expectations  # noqa: F401 - the gate imports GX lazily; a worker has it loaded
    result: dict[str, Any] = {}
    started = time.perf_counter()
    if stage == "collect":
        result["landed"] = pipeline.fetch(SOURCE_ID, DAY)
    elif stage == "parse+stage":
        result["rows"] = pipeline.stage(SOURCE_ID, load_id, landed or [])
    elif stage == "validate":
        pipeline.validate(SOURCE_ID, load_id)
    elif stage == "publish":
        result["rows"] = pipeline.publish(SOURCE_ID, load_id)
    else:
        from observatory_dev.docs_site import dbt_command

        dbt_command(
            [
                "build",
                "--select",
                DBT_SELECT,
                "--indirect-selection",
                "cautious",  # the tests of the selected models, not those reaching other marts
                "--exclude-resource-type",
                "unit_test",  # fixtures, not the data (and an incremental model's needs its table to exist)
                "--target-path",
                f"{work}/dbt_target",
                "--log-path",
                f"{work}/dbt_logs",
            ],
            connection.dsn(),
            timeout=6 * 3600,
        )
    result["seconds"] = time.perf_counter() - started
    who = resource.RUSAGE_CHILDREN if stage == "dbt build" else resource.RUSAGE_SELF
    result["peak_rss_mb"] = resource.getrusage(who).ru_maxrss / 1024
    return result


def in_fresh_process(stage: str, landed: list[dict] | None, work: Path) -> dict[str, Any]:
    """``run_stage`` in a new interpreter (spawned), so that its RSS is the stage's alone."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(run_stage, stage, landed, str(work)).result()


def counts(conninfo: str) -> dict[str, int]:
    """Rows the source published, operations and rows of the funding marts, records rejected."""
    with psycopg.connect(conninfo) as conn:
        return dict(
            zip(
                ("raw", "fct_funding", "mart_funding_overview", "rejected", "countries"),
                conn.execute(
                    """select (select count(*) from raw.funding_operation where source_id = %(s)s),
                              (select count(*) from marts.fct_funding where source_id = %(s)s),
                              (select count(*) from marts.mart_funding_overview),
                              (select count(*) from audit.rejected_record where source_id = %(s)s),
                              (select count(distinct country_code) from raw.funding_operation
                               where source_id = %(s)s)""",
                    {"s": SOURCE_ID},
                ).fetchone()
                or (),
                strict=True,
            )
        )


def start_local(attempts: int = 5) -> None:
    """``connection.start_local``, again when its walk of the running cluster's files (as root) meets a file that
    PostgreSQL removed meanwhile (others' tests run on the same cluster)."""
    for attempt in range(attempts):
        try:
            connection.start_local()
            return
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
            time.sleep(1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m observatory_dev.bench_funding", description=__doc__.split("\n")[0])
    parser.add_argument("records", nargs="?", type=int, default=DEFAULT_M)
    parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE)
    parser.add_argument("--keep-database", action="store_true", help="leave observatory_bench_funding in place")
    args = parser.parse_args(argv)
    m = args.records
    server, url = serve_socrata(m, DEFAULT_SEED)
    start_local()
    connection.ensure_database(DATABASE, recreate=True)
    conninfo = connection.local_dsn(DATABASE)
    with psycopg.connect(conninfo) as conn:
        ensure_warehouse_schema(conn)
    results: dict[str, dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="observatory_bench_funding_") as workdir:
            work = Path(workdir)
            (work / "sources.yml").write_text(
                yaml.safe_dump({"sources": {SOURCE_ID: registry_entry(url, args.page_size)}}, sort_keys=False),
                encoding="utf-8",
            )
            os.environ.update(
                {
                    connection.DSN_ENV: conninfo,
                    "OBSERVATORY_REGISTRY": str(work / "sources.yml"),
                    "OBSERVATORY_LANDING_DIR": str(work / "landing"),
                    "OBSERVATORY_REGISTRY_PROFILE": "demo",
                }
            )  # inherited by the spawned stages
            started = time.perf_counter()
            landed: list[dict] | None = None
            for stage in STAGES:
                try:
                    results[stage] = in_fresh_process(stage, landed, work)
                except Exception as exc:
                    for done, result in results.items():  # what was measured, before the one-line failure
                        print(f"{done:<12} {result['seconds']:>9.2f} s {result['peak_rss_mb']:>6.0f} MB")
                    print(f"bench_funding failed in stage {stage}: {str(exc).splitlines()[0]}", file=sys.stderr)
                    print("\n".join(str(exc).splitlines()[-8:]), file=sys.stderr)
                    return 1
                landed = results[stage].pop("landed", landed)
            end_to_end = time.perf_counter() - started
            pages = len(landed or [])
            found = counts(conninfo)
    finally:
        server.shutdown()
        if not args.keep_database:
            connection.drop_database(DATABASE)
    report(m, args.page_size, pages, results, end_to_end, found)
    return 0 if found["raw"] == found["fct_funding"] == m else 1


def report(
    m: int, page_size: int, pages: int, results: dict[str, dict[str, Any]], end_to_end: float, found: dict[str, int]
) -> None:
    print(
        f"funding: {m:,} synthetic cohesion-portal records, {pages:,} SODA pages of {page_size:,} from 127.0.0.1; "
        f"published {found['raw']:,} rows in {found['countries']} countries ({found['rejected']:,} rejected), "
        f"fct_funding {found['fct_funding']:,} operations, mart_funding_overview {found['mart_funding_overview']:,} "
        "rows"
    )
    print(f"{'stage':<12} {'seconds':>9} {'rows/s':>11} {'peak RSS MB':>12}")
    for stage, result in results.items():
        rate = m / result["seconds"] if result["seconds"] else float("inf")
        print(f"{stage:<12} {result['seconds']:>9.2f} {rate:>11,.0f} {result['peak_rss_mb']:>12.0f}")
    peak = max(result["peak_rss_mb"] for result in results.values())
    print("(each stage in a fresh process; RSS its ru_maxrss, dbt build's the dbt process's)")
    print(
        f"bench_funding records={m} rows_per_s={m / end_to_end:.0f} peak_rss_mb={peak:.0f} "
        f"end_to_end_s={end_to_end:.1f}"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
