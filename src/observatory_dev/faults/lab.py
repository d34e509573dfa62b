"""Fault injection: the faults a collection run meets in the wild, each replayed against a scripted HTTP server
on localhost and the real warehouse, with the outcome the pipeline must reach.

A case gives its own source (a temporary registry file) a good baseline batch first (day 1), then runs it
again (day 2) while the server misbehaves, through ``observatory.pipeline``, and checks

- the outcome: ``loaded`` / ``retried, loaded`` (the day-2 rows are published), or ``rejected at fetch`` /
  ``rejected at parse`` / ``quarantined`` (the run raises a message naming the fault, audit.batch says so,
  the payload is kept in the landing zone when one arrived, and the baseline stays published), or ``refused
  before fetch`` (a clock jump: nothing requested, no batch recorded, the baseline stays published);
- rows lost: rows that should be published and are not (the day-2 payload's rows when loaded, the baseline's
  otherwise; expected rows come from the project's parser on the good payload and are compared with the
  published rows by PostgreSQL, value by value); unexpected rows must be none either;
- duplicates: published rows beyond one per natural key.

``tests/faults`` runs every case under pytest; ``python -m observatory_dev.faults`` (``make faults``) runs the same
cases in a scratch database of the local cluster and prints a table ending with
``faults tried=<N> survived=<M> rows_lost=<L> duplicates=<D>``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import yaml
from psycopg import sql
from psycopg.rows import dict_row

from observatory.collect.http import resource_name
from observatory.warehouse.connection import one_row
from observatory.warehouse.raw_tables import RAW_TABLES
from observatory_dev.faults.cases import (
    BASELINE_DAY,
    BOTH_LOADED,
    CASES,
    FAULT_DAY,
    KILLED_THEN_LOADED,
    LOADED,
    LOADED_OUTCOMES,
    NEXT_DAY,
    ONE_LOADED_ONE_REFUSED,
    QUARANTINED,
    REJECTED_AT_FETCH,
    REJECTED_AT_PARSE,
    REJECTED_OUTCOMES,
    RETRIED,
    CaseResult,
    FaultCase,
    Observation,
)
from observatory_dev.faults.hostile_cases import REFUSED_BEFORE_FETCH, HostileCase
from observatory_dev.faults.payloads import SOURCE_TEMPLATES
from observatory_dev.faults.server import ScriptedResource, serve

if TYPE_CHECKING:
    from pytest_httpserver import HTTPServer


# Retries and timeouts short enough for a test, long enough for localhost.
FAST_HTTP_ENV = {
    "OBSERVATORY_HTTP_RETRIES": "3",
    "OBSERVATORY_HTTP_BACKOFF": "0.01",
    "OBSERVATORY_CONNECT_TIMEOUT": "2",
    "OBSERVATORY_READ_TIMEOUT": "2",
    "OBSERVATORY_RETRY_AFTER_MAX": "5",
}
CHILD_TIMEOUT = 180.0
BARRIER_TIMEOUT = 10.0


class FaultLab:
    """Runs cases: ``server`` is a running pytest-httpserver, ``workdir`` holds each case's registry and landing
    zone, ``dsn`` is a warehouse database the cases may write to (each case only touches its own source)."""

    def __init__(self, server: HTTPServer, workdir: Path, dsn: str) -> None:
        self.server = server
        self.workdir = workdir
        self.dsn = dsn

    def run(self, case: FaultCase) -> CaseResult:
        from observatory import pipeline

        source_id = f"fault_{case.name}"
        casedir = self.workdir / case.name
        shutil.rmtree(casedir, ignore_errors=True)
        casedir.mkdir(parents=True)
        registry_path = casedir / "sources.yml"
        url = self.server.url_for(case.path)
        registry_path.write_text(
            yaml.safe_dump(
                {
                    "sources": {
                        source_id: {
                            **SOURCE_TEMPLATES[case.format],
                            "format": case.format,
                            "urls": [url],
                            "description": f"fault injection: {case.fault}",
                            "publisher": "observatory_dev.faults",
                            "freshness": {"warn_after_hours": 48, "error_after_hours": 168},
                            **(case.entry if isinstance(case, HostileCase) else {}),
                        }
                    }
                },
                allow_unicode=True,
            ),
            encoding="utf-8",
        )
        env = {
            **FAST_HTTP_ENV,
            **case.env,
            "OBSERVATORY_WAREHOUSE_DSN": self.dsn,
            "OBSERVATORY_REGISTRY": str(registry_path),
            "OBSERVATORY_LANDING_DIR": str(casedir / "landing"),
        }
        with _pointed_at(env):
            self.server.clear()
            serve(self.server, case.path, [case.baseline])
            _serve_also(self.server, case)
            try:
                pipeline.run_source(source_id, BASELINE_DAY)
            except Exception as exc:  # the baseline must load: anything else is a finding, not a crash
                return CaseResult(
                    case.name,
                    case.fault,
                    "baseline failed",
                    0,
                    0,
                    0,
                    (f"baseline run failed: {type(exc).__name__}: {exc}",),
                )
            self.server.clear()
            resource = serve(self.server, case.path, case.replies)
            _serve_also(self.server, case)
            runner = {
                "inline": self._run_inline,
                "killed_mid_copy": self._run_killed,
                "concurrent_intervals": self._run_concurrent,
                "concurrent_same_interval": self._run_concurrent,
            }[case.run]
            error, notes = runner(case, source_id, env, casedir)
            return self._judge(case, source_id, url, error, resource, notes)

    # run modes: each returns (the error of the run that counts, notes for the case's check)

    def _run_inline(
        self, case: FaultCase, source_id: str, env: dict[str, str], casedir: Path
    ) -> tuple[str | None, dict[str, Any]]:
        """One run in this process (on the case's logical date)."""
        from observatory import pipeline

        try:
            pipeline.run_source(source_id, _fault_day(case))
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}", {}
        return None, {}

    def _run_killed(
        self, case: FaultCase, source_id: str, env: dict[str, str], casedir: Path
    ) -> tuple[str | None, dict[str, Any]]:
        """A child process SIGKILLed mid-COPY; the published rows checked; then a rerun in this process."""
        marker = casedir / "copying"
        child = _spawn_child(
            case, source_id, env, casedir / "killed.json", pause_after_rows=500, marker=marker, hold=True
        )
        notes: dict[str, Any] = {"killed": False}
        if _wait_for_file(marker, child):
            os.kill(child.pid, signal.SIGKILL)
            notes["killed"] = True
        child.wait(timeout=CHILD_TIMEOUT)
        with psycopg.connect(self.dsn) as conn:
            lost, unexpected, _ = _compare(conn, case, source_id, self.server.url_for(case.path), case.baseline.body)
        notes["rows changed by the kill"] = lost + unexpected
        error, _ = self._run_inline(case, source_id, env, casedir)
        with psycopg.connect(self.dsn) as conn:
            notes["stage tables left"] = [
                name
                for (name,) in conn.execute(
                    "select tablename from pg_tables where schemaname = 'stage' and tablename like %s",
                    (f"{source_id}\\_\\_%",),
                )
            ]
        return error, notes

    def _run_concurrent(
        self, case: FaultCase, source_id: str, env: dict[str, str], casedir: Path
    ) -> tuple[str | None, dict[str, Any]]:
        """Two child processes that meet inside COPY (a barrier), on two logical dates or on the same one."""
        barrier = [casedir / "ready-1", casedir / "ready-2"]
        days = [FAULT_DAY, FAULT_DAY if case.run == "concurrent_same_interval" else NEXT_DAY]
        children = [
            _spawn_child(
                case,
                source_id,
                env,
                casedir / f"run-{number}.json",
                day=day,
                pause_after_rows=1,
                marker=marker,
                barrier=barrier,
                peers_done=[casedir / f"run-{peer}.json" for peer in (1, 2) if peer != number],
            )
            for number, (marker, day) in enumerate(zip(barrier, days, strict=True), start=1)
        ]
        results = [
            _child_result(child, casedir / f"run-{number}.json") for number, child in enumerate(children, start=1)
        ]
        failed = [result for result in results if result is not None]
        return (failed[0] if failed else None), {"failed runs": failed}

    # judging

    def _judge(
        self,
        case: FaultCase,
        source_id: str,
        url: str,
        error: str | None,
        resource: ScriptedResource,
        notes: dict[str, Any],
    ) -> CaseResult:
        from observatory.pipeline import load_id_for

        load_id = load_id_for(source_id, _fault_day(case))
        with psycopg.connect(self.dsn) as conn:
            records = conn.cursor(row_factory=dict_row)
            batch = records.execute("select * from audit.batch where load_id = %s", (load_id,)).fetchone()
            fetches = records.execute(
                "select * from audit.fetch_log where load_id = %s order by fetch_id", (load_id,)
            ).fetchall()
            published = records.execute(
                sql.SQL("select * from raw.{} where source_id = %s").format(
                    sql.Identifier(RAW_TABLES[_raw_table(case)].name)
                ),
                (source_id,),
            ).fetchall()
            quarantined = _quarantined_rows(conn, load_id)
        outcome = _outcome(case, error, batch, fetches, resource.request_times, notes)
        seen = Observation(error, outcome, batch, fetches, published, resource.request_times, notes)
        expected_payload = case.loaded_payload() if case.expected in LOADED_OUTCOMES else case.baseline.body
        if isinstance(case, HostileCase) and case.compared:  # the rows come from another resource than the case's
            url, expected_payload = self.server.url_for(case.compared[0]), case.compared[1]
        with psycopg.connect(self.dsn) as conn:
            lost, unexpected, duplicates = _compare(conn, case, source_id, url, expected_payload)
        problems = []
        if outcome != case.expected:
            problems.append(f"outcome {outcome!r}, expected {case.expected!r}" + (f": {error}" if error else ""))
        if case.message and not re.search(case.message, error or ""):
            problems.append(f"the failing run's error does not match {case.message!r}: {error}")
        if case.expected in REJECTED_OUTCOMES:
            problems += _rejection_problems(case, seen, quarantined, self.workdir / case.name / "landing", source_id)
        if case.check is not None:
            problems += case.check(seen)
        problems += [
            f"{count} {what}"
            for count, what in ((lost, "rows lost"), (duplicates, "duplicate rows"), (unexpected, "unexpected rows"))
            if count
        ]
        return CaseResult(case.name, case.fault, outcome, lost, duplicates, unexpected, tuple(problems))


def _fault_day(case: FaultCase) -> datetime:
    """The logical date of the case's day-2 run."""
    return (case.logical_date if isinstance(case, HostileCase) else None) or FAULT_DAY


def _serve_also(server: HTTPServer, case: FaultCase) -> None:
    """Script the other paths a case's source fetches (e.g. the document a feed links to)."""
    for path, reply in (case.also_serves if isinstance(case, HostileCase) else {}).items():
        serve(server, path, [reply])


def _raw_table(case: FaultCase) -> str:
    """The raw table the case's format writes."""
    from observatory.parse import FORMATS

    return FORMATS[case.format]


def _outcome(
    case: FaultCase,
    error: str | None,
    batch: dict[str, Any] | None,
    fetches: list[dict[str, Any]],
    request_times: list[float],
    notes: dict[str, Any],
) -> str:
    """What happened, in the words of the outcome constants."""
    status = batch["status"] if batch else None
    if error is not None and batch is None and not fetches and not request_times:
        return REFUSED_BEFORE_FETCH
    if case.run.startswith("concurrent"):
        succeeded = 2 - len(notes["failed runs"])
        if status != "published" or succeeded == 0:
            return f"{succeeded} of 2 runs loaded, the batch is {status!r}"
        return BOTH_LOADED if succeeded == 2 else ONE_LOADED_ONE_REFUSED
    if error is None:
        if status != "published":
            return f"returned, but the batch is {status!r}"
        if case.run == "killed_mid_copy":
            return KILLED_THEN_LOADED if notes.get("killed") else LOADED
        return RETRIED if len(request_times) > 1 else LOADED
    if any(fetch["outcome"] == "failed" for fetch in fetches):
        return REJECTED_AT_FETCH
    if status == "quarantined":
        return QUARANTINED
    if status == "failed":
        return REJECTED_AT_PARSE
    return f"failed, batch left {status!r}"


def _rejection_problems(
    case: FaultCase, seen: Observation, quarantined: int | None, landing: Path, source_id: str
) -> list[str]:
    """A rejection must say why (in the exception and in audit.batch) and keep what arrived."""
    problems = []
    batch_message = (seen.batch or {}).get("message") or ""
    if case.message and not re.search(case.message, batch_message):
        problems.append(f"audit.batch.message does not match {case.message!r}: {batch_message!r}")
    body = case.replies[-1].body
    digest = hashlib.sha256(body).hexdigest()
    kept = landing / source_id / digest[:2] / digest
    if seen.outcome == REJECTED_AT_FETCH:
        failed = [fetch["message"] or "" for fetch in seen.fetches if fetch["outcome"] == "failed"]
        if case.message and not any(re.search(case.message, message) for message in failed):
            problems.append(f"audit.fetch_log has no failed fetch matching {case.message!r}: {failed}")
        if kept.exists():
            problems.append("an incomplete or oversized body was landed")
    elif seen.outcome in (REJECTED_AT_PARSE, QUARANTINED):
        if not (kept.exists() and kept.read_bytes() == body):
            problems.append(f"the rejected payload is not kept in the landing zone at {kept}")
        if digest not in {fetch["content_sha256"] for fetch in seen.fetches if fetch["outcome"] == "fetched"}:
            problems.append("audit.fetch_log does not name the rejected payload's sha256")
    if seen.outcome == QUARANTINED and not quarantined:
        problems.append("the quarantined batch is not kept in the quarantine schema")
    return problems


def _quarantined_rows(conn: psycopg.Connection, load_id: str) -> int | None:
    """Rows of ``quarantine.<load_id>``, None if there is no such table."""
    table = sql.SQL("quarantine.{}").format(sql.Identifier(load_id))
    if not one_row(conn.execute("select to_regclass(%s) is not null", (table.as_string(conn),)))[0]:
        return None
    return one_row(conn.execute(sql.SQL("select count(*) from {}").format(table)))[0]


def _compare(
    conn: psycopg.Connection, case: FaultCase, source_id: str, url: str, payload: bytes
) -> tuple[int, int, int]:
    """(rows lost, unexpected rows, duplicates) of the source's published rows against the rows the project's
    parser reads from ``payload``, compared by PostgreSQL value by value."""
    from observatory.config.registry import load_registry
    from observatory.parse import parser_for

    source = load_registry()[source_id]
    table = RAW_TABLES[source.raw_table]
    options = {**source.parse, "resource_name": resource_name(url), "media_type": None}
    expected_rows = [row for row in parser_for(source.format).parse(payload, options) if isinstance(row, tuple)]
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in table.column_names)
    raw = sql.Identifier(table.name)
    with conn.transaction(force_rollback=True):
        conn.execute(
            sql.SQL("create temp table expected_rows (like raw.{} including defaults) on commit drop").format(raw)
        )
        all_columns = sql.SQL(", ").join(sql.Identifier(name) for name in ("load_id", "source_id", *table.column_names))
        with conn.cursor().copy(sql.SQL("copy expected_rows ({}) from stdin").format(all_columns)) as copy:
            for row in expected_rows:
                copy.write_row(("expected", source_id, *row))
        key = sql.SQL(", ").join(sql.Identifier(name) for name in table.natural_key)
        lost, unexpected, duplicates = one_row(
            conn.execute(
                sql.SQL(
                    """with published as (select {c} from raw.{t} where source_id = %(source_id)s)
                       select (select count(*) from (select {c} from expected_rows except all
                                                     select {c} from published) d),
                              (select count(*) from (select {c} from published except all
                                                     select {c} from expected_rows) d),
                              (select coalesce(sum(copies - 1), 0) from (select count(*) as copies from raw.{t}
                                                     where source_id = %(source_id)s group by {k}) d)"""
                ).format(c=columns, t=raw, k=key),
                {"source_id": source_id},
            )
        )
    return lost, unexpected, int(duplicates)


@contextmanager
def _pointed_at(env: Mapping[str, str]) -> Iterator[None]:
    """Point this process at a case's registry, landing zone, warehouse and HTTP limits, and back afterwards.

    Every step reads its settings from the environment when it runs (``Settings.from_env()``), so the environment
    is all there is to set; child processes get the same one."""
    saved_env = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- child processes (killed and concurrent runs) -----------------------------------------------------------


def _spawn_child(
    case: FaultCase,
    source_id: str,
    env: Mapping[str, str],
    result: Path,
    *,
    pause_after_rows: int,
    marker: Path,
    day: datetime = FAULT_DAY,
    hold: bool = False,
    barrier: Sequence[Path] = (),
    peers_done: Sequence[Path] = (),
) -> subprocess.Popen:
    """Start ``run_child`` in a new Python process: one run of the source for ``day``."""
    spec = {
        "source_id": source_id,
        "format": case.format,
        "day": day.isoformat(),
        "result": str(result),
        "pause_after_rows": pause_after_rows,
        "marker": str(marker),
        "hold": hold,
        "barrier": [str(path) for path in barrier],
        "peers_done": [str(path) for path in peers_done],
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from observatory_dev.faults.lab import run_child; run_child()", json.dumps(spec)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run_child() -> None:
    """In a child process: run the source once, pausing inside COPY after some rows (until killed, or until every
    run of a barrier got there or a peer has finished); write the outcome to the result file."""
    from observatory import pipeline
    from observatory.parse import parser_for

    spec = json.loads(sys.argv[1])
    parser = parser_for(spec["format"])

    def pausing(parse: Any) -> Any:
        def pausing_parse(source: Any, options: Mapping[str, Any]) -> Iterator[tuple]:
            for count, row in enumerate(parse(source, options), start=1):
                if count == spec["pause_after_rows"]:
                    Path(spec["marker"]).touch()
                    barrier, peers = (
                        [Path(path) for path in spec["barrier"]],
                        [Path(path) for path in spec["peers_done"]],
                    )
                    _pause(spec["hold"], barrier, peers)
                yield row

        return pausing_parse

    # pauses mid-COPY, where the case kills or holds it: the pipeline reads landed files with parse_file where a
    # parser has one (streaming), else parse
    for name in ("parse", "parse_file"):
        if hasattr(parser, name):
            setattr(parser, name, pausing(getattr(parser, name)))
    try:
        published = pipeline.run_source(spec["source_id"], datetime.fromisoformat(spec["day"]))
        result: dict[str, Any] = {"error": None, "published": published}
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")


def _pause(hold: bool, barrier: Sequence[Path], peers_done: Sequence[Path]) -> None:
    """Hold (until killed or the child timeout) or wait at the barrier (until all arrived, a peer is done, or
    the barrier timeout)."""
    deadline = time.monotonic() + (CHILD_TIMEOUT if hold else BARRIER_TIMEOUT)
    while time.monotonic() < deadline and (
        hold or not (all(path.exists() for path in barrier) or any(path.exists() for path in peers_done))
    ):
        time.sleep(0.05)


def _wait_for_file(path: Path, child: subprocess.Popen) -> bool:
    """Wait until ``path`` exists (True) or the child has ended or the timeout passed (False)."""
    deadline = time.monotonic() + CHILD_TIMEOUT
    while time.monotonic() < deadline and child.poll() is None:
        if path.exists():
            return True
        time.sleep(0.02)
    return path.exists()


def _child_result(child: subprocess.Popen, result: Path) -> str | None:
    """The child's error (None if it published), once it has ended."""
    try:
        child.wait(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        return f"did not finish within {CHILD_TIMEOUT:g} s"
    if not result.exists():
        return f"ended with exit code {child.returncode} and no result"
    return json.loads(result.read_text(encoding="utf-8"))["error"]


# --- the runner (`make faults`) ----------------------------------------------------------------------------


def format_table(results: Sequence[CaseResult]) -> list[str]:
    """The results as an aligned table, problems listed under it, and the summary line last."""
    header = ("fault", "outcome", "rows lost", "duplicates", "")
    rows = [
        (r.fault, r.outcome, str(r.rows_lost), str(r.duplicates), "ok" if r.survived else "FAILED") for r in results
    ]
    widths = [max(len(line[column]) for line in [header, *rows]) for column in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if 2 <= column <= 3 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)]
    lines += [f"{result.name}: {problem}" for result in results for problem in result.problems]
    lines.append(
        f"faults tried={len(results)} survived={sum(r.survived for r in results)} "
        f"rows_lost={sum(r.rows_lost for r in results)} duplicates={sum(r.duplicates for r in results)}"
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cases (all, or those named with --case) in a scratch database of the local cluster."""
    parser = argparse.ArgumentParser(prog="python -m observatory_dev.faults", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case", action="append", choices=[case.name for case in CASES], help="run only this case (repeatable)"
    )
    args = parser.parse_args(argv)
    selected = [case for case in CASES if not args.case or case.name in args.case]

    from pytest_httpserver import HTTPServer

    from observatory.warehouse import connection
    from observatory.warehouse.bootstrap import ensure_warehouse_schema

    warnings.simplefilter("ignore")
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    database = f"observatory_faults_{os.getpid()}"
    connection.start_local()
    connection.ensure_database(database, recreate=True)
    dsn = connection.local_dsn(database)
    with psycopg.connect(dsn) as conn:
        ensure_warehouse_schema(conn)
    server = HTTPServer(threaded=True)
    server.start()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="observatory-faults-") as workdir:
            lab = FaultLab(server, Path(workdir), dsn)
            for case in selected:
                print(f"... {case.fault}", file=sys.stderr, flush=True)
                results.append(lab.run(case))
    finally:
        server.stop()
        connection.drop_database(database)
    print("\n".join(format_table(results)))
    return 0 if all(result.survived for result in results) else 1
