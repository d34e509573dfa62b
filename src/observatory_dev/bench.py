"""Bulk-load benchmark: ``python -m observatory_dev.bench [N]`` (default 1,000,000 observations).

Generates a JSON-stat 2.0 cube shaped like Eurostat's migr_pop1ctz (freq × citizen × sex × age × unit × geo ×
time, sparse ``value`` and ``status`` objects with unsorted keys, about 85 % of cells filled, 15 % flagged),
serves it from 127.0.0.1 like the Statistics API (ETag, 304 Not Modified), and measures in a database of its own
(``observatory_bench``, recreated) of the local PostgreSQL:

(a) ours: the pipeline's fetch and stage steps (collect → land → parse → COPY into ``stage.<load_id>``), in a
    fresh process whose peak RSS is its own ``ru_maxrss`` (kernel high-water mark, interpreter included);
    publish is timed apart and not counted, and the GX gate is not run (neither loads anything from the source);
(b) COPY of the same rows from a ready CSV file (exported from the published rows) into an unlogged table like
    the stage table;
(c) ``pandas.DataFrame.to_sql`` with its default method, on the first 100,000 of those rows (rate scaled);
(d) ours again on a later logical date, the source unchanged: fetch, stage and publish (which skips).

The last line is ``bench rows=.. ours_rows_per_s=.. copy_rows_per_s=.. to_sql_rows_per_s=.. vs_copy=..
vs_to_sql=.. peak_rss_mb=.. unchanged_rerun_ratio=..``, the ratio being (d) over (a) in time.
"""

from __future__ import annotations

import hashlib
import math
import os
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import orjson
import psycopg
from psycopg import sql

from observatory.warehouse import connection
from observatory.warehouse.bootstrap import ensure_warehouse_schema

DATABASE = "observatory_bench"
SOURCE_ID = "bench_migr_pop1ctz"
TO_SQL_ROWS = 100_000
GEO = (
    "EU27_2020 BE BG CZ DK DE EE IE EL ES FR HR IT CY LV LT LU HU MT NL AT PL PT RO SI SK FI SE "
    "IS LI NO CH UK ME MK AL RS TR BA XK"
).split()  # 40 reporting countries and the EU aggregate
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
)
COLUMNS = sql.SQL(", ").join(sql.Identifier(name) for name in COLUMN_NAMES)
REGISTRY = """sources:
  {source_id}:
    kind: indicators
    format: jsonstat
    collector: eurostat
    collect: {{dataset: migr_pop1ctz, filters: {{unit: NR}}, base_url: "{base_url}"}}
    description: Synthetic cube shaped like migr_pop1ctz, for the bulk-load benchmark.
    publisher: observatory_dev.bench
    suite: eurostat_counts
    freshness: {{warn_after_hours: 192, error_after_hours: 720}}
"""


def synthetic_cube(n: int, seed: int = 20261126) -> bytes:
    """A JSON-stat 2.0 response of ``n`` observations, shaped like migr_pop1ctz."""
    rng = np.random.default_rng(seed)
    dimensions = {
        "freq": ["A"],
        "citizen": [],
        "sex": ["F", "M", "T"],
        "age": ["TOTAL", "Y_LT15", "Y15-64", "Y_GE65"],
        "unit": ["NR"],
        "geo": list(GEO),
        "time": [str(year) for year in range(2000, 2026)],
    }
    per_citizenship = math.prod(len(codes) for codes in dimensions.values() if codes)
    dimensions["citizen"] = [f"C{i:03d}" for i in range(max(1, math.ceil(n / 0.85 / per_citizenship)))]
    sizes = [len(codes) for codes in dimensions.values()]
    cells = rng.choice(math.prod(sizes), size=n, replace=False)  # unsorted, like the API's keys
    flagged = rng.random(n) < 0.15
    return orjson.dumps(
        {
            "version": "2.0",
            "class": "dataset",
            "label": "Population on 1 January by citizenship (synthetic)",
            "source": "observatory_dev.bench",
            "updated": "2026-09-22T23:00:00+0200",
            "value": dict(zip(map(str, cells.tolist()), rng.integers(0, 2_000_000, n).tolist(), strict=True)),
            "status": dict(
                zip(
                    map(str, cells[flagged].tolist()),
                    rng.choice(["p", "b", "e"], int(flagged.sum())).tolist(),
                    strict=True,
                )
            ),
            "id": list(dimensions),
            "size": sizes,
            "dimension": {
                name: {
                    "label": name,
                    "category": {
                        "index": {code: i for i, code in enumerate(codes)},
                        "label": {code: code for code in codes},
                    },
                }
                for name, codes in dimensions.items()
            },
            "extension": {"id": "MIGR_POP1CTZ", "lang": "EN"},
        }
    )


def serve_cube(payload: bytes) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``payload`` for any dataset URL on 127.0.0.1, with an ETag and 304 answers; returns (server, base)."""
    etag = f'"{hashlib.sha256(payload).hexdigest()[:20]}"'

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            unchanged = self.headers.get("If-None-Match") == etag
            self.send_response(304 if unchanged else 200)
            self.send_header("ETag", etag)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "0" if unchanged else str(len(payload)))
            self.end_headers()
            if not unchanged:
                self.wfile.write(payload)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def run_pipeline(logical_date: datetime) -> dict[str, float]:
    """Fetch and stage (timed), then publish (timed apart), in this process; with its peak RSS."""
    import observatory.collect.eurostat  # noqa: F401 - imported before the clock starts, like a worker has it
    import observatory.parse.jsonstat  # noqa: F401
    from observatory import pipeline

    load_id = pipeline.load_id_for(SOURCE_ID, logical_date)
    started = time.perf_counter()
    rows = pipeline.stage(SOURCE_ID, load_id, pipeline.fetch(SOURCE_ID, logical_date))
    staged = time.perf_counter()
    try:
        pipeline.publish(SOURCE_ID, load_id)
    except pipeline.BatchUnchanged:
        pass
    return {
        "rows": rows,
        "seconds": staged - started,
        "publish_seconds": time.perf_counter() - staged,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def in_fresh_process(logical_date: datetime) -> dict[str, float]:
    """``run_pipeline`` in a new interpreter (spawned), so that its RSS is the pipeline's alone."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(run_pipeline, logical_date).result()


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
        return rows / (time.perf_counter() - started)


def to_sql_rate(conninfo: str, csv_path: Path) -> float:
    """Rows per second of ``DataFrame.to_sql`` (default method) on the first ``TO_SQL_ROWS`` rows."""
    import pandas as pd
    import sqlalchemy

    frame = pd.read_csv(
        csv_path,
        header=None,
        names=list(COLUMN_NAMES),
        nrows=TO_SQL_ROWS,
        dtype={"time_period": str, "flags": str},
        parse_dates=["dataset_updated"],
    )
    engine = sqlalchemy.create_engine("postgresql+psycopg://" + conninfo.split("://", 1)[1])
    started = time.perf_counter()
    frame.to_sql("bench_to_sql", engine, if_exists="replace", index=False)
    seconds = time.perf_counter() - started
    engine.dispose()
    return len(frame) / seconds


def export_published(conninfo: str, csv_path: Path) -> None:
    """The source's published rows as a CSV file (the 'ready file' of the COPY baseline)."""
    with psycopg.connect(conninfo) as conn, csv_path.open("wb") as target:
        query = sql.SQL(
            "copy (select {} from raw.eurostat_observation where source_id = %s) to stdout (format csv)"
        ).format(COLUMNS)
        with conn.cursor().copy(query, (SOURCE_ID,)) as copy:
            for block in copy:
                target.write(block)


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 1_000_000
    payload = synthetic_cube(n)
    server, base_url = serve_cube(payload)
    connection.start_local()
    connection.ensure_database(DATABASE, recreate=True)
    conninfo = connection.local_dsn(DATABASE)
    with psycopg.connect(conninfo) as conn:
        ensure_warehouse_schema(conn)
    with tempfile.TemporaryDirectory(prefix="observatory_bench_") as workdir:
        work = Path(workdir)
        (work / "sources.yml").write_text(REGISTRY.format(source_id=SOURCE_ID, base_url=base_url))
        os.environ.update(
            {
                connection.DSN_ENV: conninfo,
                "OBSERVATORY_REGISTRY": str(work / "sources.yml"),
                "OBSERVATORY_LANDING_DIR": str(work / "landing"),
            }
        )  # inherited by the spawned runs
        ours = in_fresh_process(datetime(2026, 11, 1, tzinfo=UTC))
        again = in_fresh_process(datetime(2026, 11, 2, tzinfo=UTC))
        export_published(conninfo, work / "rows.csv")
        copy = copy_rate(conninfo, work / "rows.csv", n)
        to_sql = to_sql_rate(conninfo, work / "rows.csv")
    server.shutdown()
    connection.drop_database(DATABASE)
    report(n, len(payload), ours, again, copy, to_sql)
    return 0 if ours["rows"] == n else 1


def report(n: int, size: int, ours: dict[str, float], again: dict[str, float], copy: float, to_sql: float) -> None:
    rate = ours["rows"] / ours["seconds"]
    ratio = (again["seconds"] + again["publish_seconds"]) / ours["seconds"]
    print(f"cube: {n:,} observations, {size / 1e6:.1f} MB of JSON-stat 2.0 served from 127.0.0.1")
    print(
        f"(a) ours, fetch+parse+stage: {ours['seconds']:.2f} s, {rate:,.0f} rows/s; publish into raw "
        f"{ours['publish_seconds']:.2f} s (not counted); peak RSS {ours['peak_rss_mb']:.0f} MB "
        "(ru_maxrss of the fresh process that ran it)"
    )
    print(f"(b) COPY of a ready CSV file: {copy:,.0f} rows/s")
    print(f"(c) DataFrame.to_sql, default method, {TO_SQL_ROWS:,} rows: {to_sql:,.0f} rows/s")
    print(
        f"(d) ours again, source unchanged (HTTP 304, nothing staged, publish skipped): "
        f"{again['seconds'] + again['publish_seconds']:.3f} s"
    )
    print(
        f"bench rows={n} ours_rows_per_s={rate:.0f} copy_rows_per_s={copy:.0f} to_sql_rows_per_s={to_sql:.0f} "
        f"vs_copy={rate / copy:.2f} vs_to_sql={rate / to_sql:.1f} peak_rss_mb={ours['peak_rss_mb']:.0f} "
        f"unchanged_rerun_ratio={ratio:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
