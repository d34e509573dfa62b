"""Stage-by-stage benchmark: ``python -m observatory_dev.bench [N] [--format sdmx_csv|jsonstat] [--database NAME]``.

``N`` observations (default 10,000,000) of a synthetic Eurostat dataset shaped like migr_pop1ctz filtered on the
catalogue's ``population_by_citizenship`` cells (unit NR, age TOTAL, sex T; 41 countries × 26 years × as many
citizenship codes as N needs: ``observatory_dev.generators``), so that every row reaches the indicator marts. The
source is, at every size, an **SDMX-CSV 2.0 download with labels, gzip** (``generators.sdmx_csv``, streamed to a
file: about 195 bytes a record before gzip), as Eurostat's SDMX 3.0 API answers ``compress=true``; ``--format
jsonstat`` serves a JSON-stat 2.0 cube instead (``generators.jsonstat``: the body is built in memory, over a GB at
30 million cells, so only for a few million). A second, small source (migr_pop3ctb by country of birth, N/100 cells,
SDMX-CSV) is the dataset that changes.

Both are served from 127.0.0.1 by a file server that answers like the API (ETag, Last-Modified, 304 Not Modified),
and collected by the registry's real ``eurostat`` collector (``api: sdmx3`` or ``statistics``, ``base_url`` pointing
at the server), in a database of its own (``observatory_bench``, recreated, dropped at the end) of the local
PostgreSQL. Each stage runs in a fresh (spawned) process through the pipeline's public steps, as Airflow runs them
as separate tasks; its peak RSS is that process's own high-water mark (``VmHWM``, what ``ru_maxrss`` reports minus
what Linux carries over from the parent through ``execve``; interpreter and imports included; the modules a worker
has loaded, GX among them, are imported before the clock starts):

1. collect: ``pipeline.fetch`` (GET, land the gzip file);
2. parse+stage: ``pipeline.stage`` (decompress, parse, COPY into ``stage.<load_id>``);
3. validate: ``pipeline.validate`` (the GX gate, ``observatory.quality.gate``, on the staged batch);
4. publish: ``pipeline.publish`` (replace the source's rows in ``raw.eurostat_observation``);
5. dbt build: the whole project (what the transformation DAG runs on any raw asset event), real dbt against the
   bench database; rows are those of ``marts.fct_indicator_observation``; RSS is the dbt process's;
6. unchanged rerun: the four steps on a later logical date, the source unchanged (304, nothing staged, publish
   skipped, so no dbt run): ``unchanged_rerun_ratio`` is its time over ours;
7. incremental rebuild: the small source republished with changed values (same cells), then dbt build again:
   ``incremental_rebuild_ratio`` is that dbt build's time over the full one's.

``ours`` is 1-4 (collect → publish); ``end_to_end_s`` is the wall time from the start of collect to the end of the
dbt build (process starts included). Then, side by side on the same published rows (exported once to a CSV file):

- COPY: client ``COPY ... from stdin (format csv)`` of the ready file into an unlogged table like the raw table
  (the limit: no download, no parse, no check);
- dlt: ``pipeline.run(arrow_table, loader_file_format="csv")`` to dlt's Postgres destination (dlt's fastest
  documented path without an extra driver: Arrow → CSV → COPY), all N rows, from an Arrow table read from the file
  before the clock starts, in a fresh process; also from Python dicts (its default ``insert_values``);
- ``pandas.DataFrame.to_sql`` with its default method.

to_sql and dlt from dicts load all rows up to ``SAMPLE_ROWS`` (1,000,000), beyond that the first ``SAMPLE_ROWS``
(their rate scaled: at some 10,000-30,000 rows/s they are far too slow for tens of millions), and the table says
so. The last line is ``bench rows=.. ours_rows_per_s=.. copy_rows_per_s=.. to_sql_rows_per_s=..
dlt_rows_per_s=.. vs_copy=.. vs_to_sql=.. vs_dlt=.. peak_rss_mb=.. unchanged_rerun_ratio=.. end_to_end_s=..
incremental_rebuild_ratio=..``, ``peak_rss_mb`` being the highest of ours' four stages. The bench's entries set
their own download cap (``max_download_bytes``, 1 TiB; every other entry keeps ``OBSERVATORY_MAX_DOWNLOAD_BYTES``,
512 MiB decoded by default), as a live entry of a full-size dataset does: N=10,000,000 is about 2 GB of CSV.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import sql

from observatory.warehouse import connection
from observatory.warehouse.bootstrap import ensure_warehouse_schema
from observatory_dev.generators import population_cube
from observatory_dev.generators.jsonstat import synthetic_cube
from observatory_dev.generators.sdmx_csv import write_sdmx_csv

__all__ = ["main", "synthetic_cube"]

DATABASE = "observatory_bench"
DEFAULT_N = 10_000_000
MAIN_SOURCE = "bench_migr_pop1ctz"
CHANGING_SOURCE = "bench_migr_pop3ctb"
DAY1, DAY2 = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
SAMPLE_ROWS = 1_000_000  # to_sql and dlt from dicts: about 30,000 and 10,000 rows/s, so all rows up to here only
STEPS = ("fetch", "stage", "validate", "publish")
COLUMN_NAMES = (
    "load_id",
    "source_id",
    "dataset_code",
    "dimensions",
    "geo",
    "time_period",
    "value",
    "flags",
    "dataset_updated",
    "confidentiality",
)
COLUMNS = sql.SQL(", ").join(sql.Identifier(name) for name in COLUMN_NAMES)
ENTRY = """  {source_id}:
    kind: indicators
    format: {format}
    collector: eurostat
    collect: {{api: {api}, dataset: {dataset}, filters: {{age: TOTAL, sex: T, unit: NR}}, base_url: "{base_url}"}}
    description: Synthetic cube shaped like {dataset}, for the benchmark (observatory_dev.bench).
    publisher: observatory_dev.bench
    suite: eurostat_counts
    freshness: {{warn_after_hours: 192, error_after_hours: 720}}
    max_download_bytes: 1099511627776
"""


# --- the publisher: files served like Eurostat's API -------------------------------------------------------------


@dataclass
class Served:
    path: Path
    etag: str
    last_modified: str
    content_type: str


class BenchServer:
    """Serves one file per source under ``/<source_id>/...`` on 127.0.0.1, with ETag and Last-Modified, answering
    ``304 Not Modified`` to a matching ``If-None-Match``; the file is streamed from disk."""

    def __init__(self) -> None:
        self.files: dict[str, Served] = {}
        self.statuses: list[int] = []
        bench = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                served = bench.files.get(self.path.lstrip("/").split("/", 1)[0])
                if served is None:
                    self.send_error(404)
                    return
                unchanged = self.headers.get("If-None-Match") == served.etag
                bench.statuses.append(304 if unchanged else 200)
                self.send_response(304 if unchanged else 200)
                self.send_header("ETag", served.etag)
                self.send_header("Last-Modified", served.last_modified)
                self.send_header("Content-Type", served.content_type)
                self.send_header("Content-Length", "0" if unchanged else str(served.path.stat().st_size))
                self.end_headers()
                if not unchanged:
                    with served.path.open("rb") as source:
                        shutil.copyfileobj(source, self.wfile, 1 << 20)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, source_id: str, path: Path, revision: int, content_type: str) -> None:
        stamp = datetime(2026, 9, 22 + revision, 21, 0, tzinfo=UTC)
        self.files[source_id] = Served(
            path, f'"{source_id}-{revision}-{path.stat().st_size}"', format_datetime(stamp, usegmt=True), content_type
        )

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_source(work: Path, source_id: str, fmt: str, n: int, dataset: str, revision: int = 0) -> tuple[Path, int]:
    """The source's payload file (revision ``revision``) and its decoded size in bytes."""
    cube = population_cube(n, dataset)
    if fmt == "jsonstat":
        path = work / f"{source_id}.{revision}.json"
        payload = synthetic_cube(n, cube=cube, revision=revision)
        path.write_bytes(payload)
        return path, len(payload)
    path = work / f"{source_id}.{revision}.csv.gz"
    return path, write_sdmx_csv(path, n, cube=cube, revision=revision)


# --- steps in fresh processes ------------------------------------------------------------------------------------


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set in MB: this process's own (the kernel's high-water mark of its address space, ``VmHWM``:
    Linux keeps ``ru_maxrss`` across ``execve``, so a spawned child's would start at its parent's RSS), or the
    largest of its waited-for children (``ru_maxrss`` of ``RUSAGE_CHILDREN``)."""
    if who == resource.RUSAGE_SELF:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            pass
        else:
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    return resource.getrusage(who).ru_maxrss / 1024


def run_steps(
    source_id: str, logical_date: datetime, steps: tuple[str, ...], landed: list[dict] | None = None
) -> dict[str, Any]:
    """The pipeline's public steps ``steps`` for one batch, in this process: each step's seconds, the rows it
    handled, the landed records (for a later stage step) and this process's peak RSS."""
    import observatory.collect.eurostat  # noqa: F401 - loaded before the clock starts, like a worker has them
    import observatory.parse.jsonstat  # noqa: F401
    import observatory.parse.sdmx_csv  # noqa: F401
    import observatory.quality.gate  # noqa: F401
    from observatory import pipeline

    if "validate" in steps:
        import great_expectations  # noqa: F401

    load_id = pipeline.load_id_for(source_id, logical_date)
    seconds: dict[str, float] = {}
    rows = 0
    for step in steps:
        started = time.perf_counter()
        if step == "fetch":
            landed = pipeline.fetch(source_id, logical_date)
        elif step == "stage":
            rows = pipeline.stage(source_id, load_id, landed or [])
        elif step == "validate":
            pipeline.validate(source_id, load_id)
        elif step == "publish":
            try:
                rows = pipeline.publish(source_id, load_id)
            except pipeline.BatchUnchanged:
                rows = 0
        seconds[step] = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows, "landed": landed, "peak_rss_mb": peak_rss_mb()}


def run_dbt(conninfo: str, work: Path) -> dict[str, Any]:
    """``dbt build`` of the whole project (temporary target and log paths): seconds, the rows of
    ``marts.fct_indicator_observation`` and the dbt process's peak RSS."""
    from observatory_dev.docs_site import dbt_command

    started = time.perf_counter()
    result = dbt_command(
        ["build", "--target-path", str(work / "dbt_target"), "--log-path", str(work / "dbt_logs")],
        conninfo,
        timeout=6 * 3600,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{(result.stdout + result.stderr)[-6000:]}")
    with psycopg.connect(conninfo) as conn:
        (rows,) = conn.execute("select count(*) from marts.fct_indicator_observation").fetchone() or (0,)
    return {"seconds": seconds, "rows": rows, "peak_rss_mb": peak_rss_mb(resource.RUSAGE_CHILDREN)}


def in_fresh_process(function: Any, *args: Any) -> Any:
    """``function(*args)`` in a new interpreter (spawned), so that its RSS is its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


# --- the other loaders -------------------------------------------------------------------------------------------


def export_published(conninfo: str, csv_path: Path, source_id: str) -> int:
    """The source's published rows as a CSV file (the 'ready file' of the other loaders); returns the row count."""
    rows = 0
    with psycopg.connect(conninfo) as conn, csv_path.open("wb") as target:
        query = sql.SQL(
            "copy (select {} from raw.eurostat_observation where source_id = %s) to stdout (format csv)"
        ).format(COLUMNS)
        with conn.cursor().copy(query, (source_id,)) as copy:
            for block in copy:
                target.write(block)
                rows += bytes(block).count(b"\n")
    return rows


def copy_rate(conninfo: str, csv_path: Path, rows: int) -> float:
    """Rows per second of ``COPY ... from stdin (format csv)`` of a ready file into a fresh unlogged table."""
    with psycopg.connect(conninfo) as conn:
        conn.execute("create unlogged table bench_copy (like raw.eurostat_observation including defaults)")
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor().copy(sql.SQL("copy bench_copy ({}) from stdin (format csv)").format(COLUMNS)) as copy,
            csv_path.open("rb") as source,
        ):
            while block := source.read(1 << 20):
                copy.write(block)
        conn.commit()
        seconds = time.perf_counter() - started
        conn.execute("drop table bench_copy")
    return rows / seconds


def read_frame(csv_path: Path, nrows: int) -> Any:
    import pandas as pd

    return pd.read_csv(
        csv_path,
        header=None,
        names=list(COLUMN_NAMES),
        nrows=nrows,
        dtype={"time_period": str, "flags": str, "confidentiality": str},
        parse_dates=["dataset_updated"],
    )


def to_sql_rate(conninfo: str, csv_path: Path) -> tuple[float, int]:
    """Rows per second of ``DataFrame.to_sql`` (default method) on the first ``SAMPLE_ROWS`` rows; and the rows."""
    import sqlalchemy

    frame = read_frame(csv_path, SAMPLE_ROWS)
    engine = sqlalchemy.create_engine("postgresql+psycopg://" + conninfo.split("://", 1)[1])
    started = time.perf_counter()
    frame.to_sql("bench_to_sql", engine, if_exists="replace", index=False)
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.exec_driver_sql("drop table bench_to_sql")
    engine.dispose()
    return len(frame) / seconds, len(frame)


def arrow_table(csv_path: Path) -> Any:
    """The exported rows as an Arrow table with the raw table's types (``dimensions`` as JSON text)."""
    import pyarrow as pa
    from pyarrow import csv

    types = {name: pa.string() for name in COLUMN_NAMES}
    types |= {"value": pa.float64(), "dataset_updated": pa.timestamp("us", tz="UTC")}
    return csv.read_csv(
        csv_path,
        read_options=csv.ReadOptions(column_names=list(COLUMN_NAMES), block_size=64 << 20),
        convert_options=csv.ConvertOptions(column_types=types, strings_can_be_null=True),
    )


def dlt_rate(conninfo: str, csv_path: Path, work: Path, sample: int | None) -> dict[str, Any]:
    """Rows per second of a dlt pipeline into its Postgres destination: from an Arrow table with
    ``loader_file_format="csv"`` (``sample`` None: every row), else from the first ``sample`` rows as Python dicts
    (dlt's default loader file format, ``insert_values``); the rows in the destination table after the load, and
    this process's peak RSS. The data is in memory before the clock starts."""
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"  # no network but localhost
    os.environ["RUNTIME__LOG_LEVEL"] = "ERROR"  # not its warnings that the Arrow types and the hints differ
    import dlt

    file_format: Any
    if sample is None:
        data: Any = arrow_table(csv_path)
        rows, dataset, file_format = data.num_rows, "bench_dlt_arrow", "csv"
    else:
        frame = read_frame(csv_path, sample)
        frame["dataset_updated"] = frame["dataset_updated"].dt.to_pydatetime()
        data = frame.astype(object).where(frame.notna(), None).to_dict("records")
        for record in data:  # nested, as a dlt user's records would have them
            record["dimensions"] = orjson.loads(record["dimensions"])
        rows, dataset, file_format = len(data), "bench_dlt_dicts", None
    pipeline = dlt.pipeline(
        pipeline_name=dataset,
        destination=dlt.destinations.postgres(credentials=conninfo),
        dataset_name=dataset,
        pipelines_dir=str(work / "dlt"),
    )
    types = {"dimensions": "json", "value": "double", "dataset_updated": "timestamp"}
    columns: Any = {name: {"data_type": types.get(name, "text"), "nullable": True} for name in COLUMN_NAMES}
    started = time.perf_counter()
    pipeline.run(data, table_name="eurostat_observation", columns=columns, loader_file_format=file_format)
    seconds = time.perf_counter() - started
    with psycopg.connect(conninfo) as conn:
        target = sql.Identifier(dataset, "eurostat_observation")
        (loaded,) = conn.execute(sql.SQL("select count(*) from {}").format(target)).fetchone() or (0,)
        (dimensions_type,) = conn.execute(
            """select data_type from information_schema.columns
               where table_schema = %s and table_name = 'eurostat_observation' and column_name = 'dimensions'""",
            (dataset,),
        ).fetchone() or ("?",)
        conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(dataset)))
    return {
        "rate": rows / seconds,
        "rows": rows,
        "loaded": loaded,
        "dimensions_type": dimensions_type,
        "peak_rss_mb": peak_rss_mb(),
    }


# --- the run -----------------------------------------------------------------------------------------------------


@dataclass
class StageResult:
    name: str
    rows: int
    seconds: float
    peak_rss_mb: float | None = None
    note: str = ""

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class BenchResult:
    n: int
    fmt: str
    payload_bytes: int
    stages: list[StageResult] = field(default_factory=list)
    fields: dict[str, float] = field(default_factory=dict)

    def stage(self, name: str) -> StageResult:
        return next(stage for stage in self.stages if stage.name == name)


@contextmanager
def bench_environment(conninfo: str, work: Path) -> Iterator[None]:
    """The variables the pipeline reads (inherited by the spawned steps), restored afterwards."""
    values = {
        connection.DSN_ENV: conninfo,
        "OBSERVATORY_REGISTRY": str(work / "sources.yml"),
        "OBSERVATORY_REGISTRY_PROFILE": "demo",
        "OBSERVATORY_LANDING_DIR": str(work / "landing"),
        "OBSERVATORY_READ_TIMEOUT": "600",
    }
    saved = {name: os.environ.get(name) for name in [*values, "OBSERVATORY_MIRROR_URL"]}
    os.environ.pop("OBSERVATORY_MIRROR_URL", None)  # the bench's URLs are on localhost already
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def changing_size(n: int) -> int:
    """Observations of the small dataset that changes (migr_pop3ctb)."""
    return max(1_000, n // 100)


def run_bench(n: int, fmt: str = "sdmx_csv", database: str = DATABASE) -> BenchResult:
    """Every stage on ``n`` observations (see the module's docstring), in database ``database`` (recreated, dropped)."""
    small = changing_size(n)
    server = BenchServer()
    connection.start_local()
    connection.ensure_database(database, recreate=True)
    conninfo = connection.local_dsn(database)
    with psycopg.connect(conninfo) as conn:
        ensure_warehouse_schema(conn)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="observatory_bench_") as workdir,
            bench_environment(conninfo, Path(workdir)),
        ):
            return _run(n, small, fmt, server, conninfo, Path(workdir))
    finally:
        server.shutdown()
        connection.drop_database(database)


def _run(n: int, small: int, fmt: str, server: BenchServer, conninfo: str, work: Path) -> BenchResult:
    kinds = {"sdmx_csv": ("sdmx3", "application/octet-stream"), "jsonstat": ("statistics", "application/json")}
    (work / "sources.yml").write_text(
        "sources:\n"
        + "".join(
            ENTRY.format(
                source_id=source_id,
                format=kind,
                api=kinds[kind][0],
                dataset=dataset,
                base_url=server.base + "/" + source_id,
            )
            for source_id, kind, dataset in (
                (MAIN_SOURCE, fmt, "migr_pop1ctz"),
                (CHANGING_SOURCE, "sdmx_csv", "migr_pop3ctb"),
            )
        )
    )
    started = time.perf_counter()
    path, size = write_source(work, MAIN_SOURCE, fmt, n, "migr_pop1ctz")
    changing, _ = write_source(work, CHANGING_SOURCE, "sdmx_csv", small, "migr_pop3ctb")
    result = BenchResult(n, fmt, size)
    generated = time.perf_counter() - started
    server.serve(MAIN_SOURCE, path, 0, kinds[fmt][1])
    server.serve(CHANGING_SOURCE, changing, 0, kinds["sdmx_csv"][1])

    # the other dataset is in the warehouse first (not counted in ours)
    other = in_fresh_process(run_steps, CHANGING_SOURCE, DAY1, STEPS)

    # ours: collect → parse+stage → validate → publish, each step a fresh process
    chain_started = time.perf_counter()
    landed = None
    ours: dict[str, dict[str, Any]] = {}
    for step in STEPS:
        ours[step] = in_fresh_process(run_steps, MAIN_SOURCE, DAY1, (step,), landed)
        landed = ours[step]["landed"]
    published = ours["publish"]["rows"]
    build = in_fresh_process(run_dbt, conninfo, work)
    end_to_end = time.perf_counter() - chain_started

    again = in_fresh_process(run_steps, MAIN_SOURCE, DAY2, STEPS)

    changed, _ = write_source(work, CHANGING_SOURCE, "sdmx_csv", small, "migr_pop3ctb", revision=1)
    server.serve(CHANGING_SOURCE, changed, 1, kinds["sdmx_csv"][1])
    republished = in_fresh_process(run_steps, CHANGING_SOURCE, DAY2, STEPS)
    rebuild = in_fresh_process(run_dbt, conninfo, work)

    rows_csv = work / "rows.csv"
    exported = export_published(conninfo, rows_csv, MAIN_SOURCE)
    copy = copy_rate(conninfo, rows_csv, exported)
    to_sql, to_sql_rows = to_sql_rate(conninfo, rows_csv)
    dlt_arrow = in_fresh_process(dlt_rate, conninfo, rows_csv, work, None)
    dlt_dicts = in_fresh_process(dlt_rate, conninfo, rows_csv, work, min(SAMPLE_ROWS, exported))

    names = {"fetch": "collect", "stage": "parse+stage", "validate": "validate (GX gate)", "publish": "publish"}
    ours_seconds = sum(ours[step]["seconds"][step] for step in STEPS)
    peak = max(ours[step]["peak_rss_mb"] for step in STEPS)
    rerun_seconds = sum(again["seconds"].values())
    mb = size / 1e6
    result.stages += [
        StageResult("generate payloads", n + small, generated, None, f"{mb:,.0f} MB decoded, not counted"),
        StageResult(
            "other dataset, collect→publish",
            other["rows"],
            sum(other["seconds"].values()),
            other["peak_rss_mb"],
            "migr_pop3ctb, before ours, not counted",
        ),
        *(
            StageResult(names[step], n, ours[step]["seconds"][step], ours[step]["peak_rss_mb"], note)
            for step, note in zip(
                STEPS,
                (f"{mb:,.0f} MB {fmt}, gzip" if fmt == "sdmx_csv" else f"{mb:,.0f} MB {fmt}", "", "", ""),
                strict=True,
            )
        ),
        StageResult("ours: collect→publish", published, ours_seconds, peak, "sum of the four stages"),
        StageResult(
            "dbt build (whole project)",
            build["rows"],
            build["seconds"],
            build["peak_rss_mb"],
            "rows of marts.fct_indicator_observation; RSS of dbt",
        ),
        StageResult("end to end: collect→marts", build["rows"], end_to_end, None, "wall time, process starts included"),
        StageResult("unchanged rerun", 0, rerun_seconds, again["peak_rss_mb"], "304, nothing staged, publish skipped"),
        StageResult(
            "republish changed dataset",
            republished["rows"],
            sum(republished["seconds"].values()),
            republished["peak_rss_mb"],
            "migr_pop3ctb, same cells, new values",
        ),
        StageResult(
            "incremental dbt rebuild",
            rebuild["rows"],
            rebuild["seconds"],
            rebuild["peak_rss_mb"],
            "whole project again, after the one dataset changed",
        ),
        StageResult("COPY of a ready CSV", exported, exported / copy, None, "client COPY into an unlogged table"),
        StageResult(
            "dlt, Arrow table, csv",
            dlt_arrow["loaded"],
            dlt_arrow["rows"] / dlt_arrow["rate"],
            dlt_arrow["peak_rss_mb"],
            f"all rows; dimensions as {dlt_arrow['dimensions_type']}",
        ),
        StageResult(
            "dlt, Python dicts",
            dlt_dicts["loaded"],
            dlt_dicts["rows"] / dlt_dicts["rate"],
            dlt_dicts["peak_rss_mb"],
            sampled(dlt_dicts["rows"], exported, "insert_values"),
        ),
        StageResult(
            "pandas to_sql",
            to_sql_rows,
            to_sql_rows / to_sql,
            None,
            sampled(to_sql_rows, exported, "default method"),
        ),
    ]
    ours_rate = published / ours_seconds
    result.fields = {
        "rows": n,
        "ours_rows_per_s": ours_rate,
        "copy_rows_per_s": copy,
        "to_sql_rows_per_s": to_sql,
        "dlt_rows_per_s": dlt_arrow["rate"],
        "vs_copy": ours_rate / copy,
        "vs_to_sql": ours_rate / to_sql,
        "vs_dlt": ours_rate / dlt_arrow["rate"],
        "peak_rss_mb": peak,
        "unchanged_rerun_ratio": rerun_seconds / ours_seconds,
        "end_to_end_s": end_to_end,
        "incremental_rebuild_ratio": rebuild["seconds"] / build["seconds"],
        "published_rows": published,
        "dlt_loaded_rows": dlt_arrow["loaded"],
        "dlt_dict_rows_per_s": dlt_dicts["rate"],
    }
    return result


def sampled(rows: int, exported: int, how: str) -> str:
    if rows >= exported:
        return f"all rows ({how})"
    return f"sample of {rows:,} rows ({how}), far too slow for all: rate scaled"


def last_line(fields: dict[str, float]) -> str:
    f = fields
    return (
        f"bench rows={f['rows']:.0f} ours_rows_per_s={f['ours_rows_per_s']:.0f} "
        f"copy_rows_per_s={f['copy_rows_per_s']:.0f} to_sql_rows_per_s={f['to_sql_rows_per_s']:.0f} "
        f"dlt_rows_per_s={f['dlt_rows_per_s']:.0f} vs_copy={f['vs_copy']:.3f} vs_to_sql={f['vs_to_sql']:.2f} "
        f"vs_dlt={f['vs_dlt']:.2f} peak_rss_mb={f['peak_rss_mb']:.0f} "
        f"unchanged_rerun_ratio={f['unchanged_rerun_ratio']:.3f} end_to_end_s={f['end_to_end_s']:.1f} "
        f"incremental_rebuild_ratio={f['incremental_rebuild_ratio']:.3f}"
    )


def report(result: BenchResult) -> None:
    source = "SDMX-CSV 2.0 with labels, gzip" if result.fmt == "sdmx_csv" else "JSON-stat 2.0"
    print(
        f"{result.n:,} observations shaped like migr_pop1ctz, {source} ({result.payload_bytes / 1e6:,.0f} MB decoded) "
        "served from 127.0.0.1; each stage in a fresh process"
    )
    print(f"{'stage':<32} {'rows':>12} {'seconds':>9} {'rows/s':>12} {'peak RSS MB':>12}  note")
    for stage in result.stages:
        rss = f"{stage.peak_rss_mb:,.0f}" if stage.peak_rss_mb is not None else "-"
        rate = f"{stage.rate:,.0f}" if stage.rows else "-"
        print(f"{stage.name:<32} {stage.rows:>12,} {stage.seconds:>9.2f} {rate:>12} {rss:>12}  {stage.note}")
    print(last_line(result.fields))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m observatory_dev.bench", description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=DEFAULT_N, help=f"observations (default {DEFAULT_N:,})")
    parser.add_argument("--format", choices=("sdmx_csv", "jsonstat"), default="sdmx_csv", dest="fmt")
    parser.add_argument("--database", default=DATABASE, help=f"database of the local cluster (default {DATABASE})")
    args = parser.parse_args(argv)
    result = run_bench(args.n, args.fmt, args.database)
    report(result)
    return 0 if result.fields["published_rows"] == args.n else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
