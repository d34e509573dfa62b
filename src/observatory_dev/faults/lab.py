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

The platform cases (``observatory_dev.faults.platform_cases``) fault what is under and around the pipeline: the
warehouse restarted during a publish or a dbt run (on a dedicated cluster under the lab's workdir, never the shared
one), dbt failing in one mart (a broken copy of the project), the landing disk full, a backfill racing the scheduled
run of its interval; at the end the day-2 rows must be published once each.

``tests/faults`` runs every case under pytest; ``python -m observatory_dev.faults`` (``make faults``) runs the same
cases in a scratch database of the local cluster and prints a table ending with
``faults tried=<N> survived=<M> rows_lost=<L> duplicates=<D>``.
"""

from __future__ import annotations

import argparse
import errno
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
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import yaml
from psycopg import sql
from psycopg.rows import dict_row

from observatory.collect.http import resource_name
from observatory.config.settings import Settings
from observatory.landing import PARTIAL_DIR
from observatory.warehouse import connection
from observatory.warehouse.bootstrap import ensure_warehouse_schema
from observatory.warehouse.connection import one_row
from observatory.warehouse.raw_tables import RAW_TABLES
from observatory_dev.celery_harness import free_port
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
from observatory_dev.faults.celery_cases import CELERY_RUNS, run_worker_killed
from observatory_dev.faults.hostile_cases import REFUSED_BEFORE_FETCH, HostileCase
from observatory_dev.faults.payloads import SOURCE_TEMPLATES
from observatory_dev.faults.platform_cases import PLATFORM_LOADED_OUTCOMES, PLATFORM_RUNS, PlatformCase
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
DISK_ROOM = 16 * 1024  # bytes the full landing disk still takes (less than a disk-full case's day-2 body)


class FaultLab:
    """Runs cases: ``server`` is a running pytest-httpserver, ``workdir`` holds each case's registry and landing
    zone, ``dsn`` is a warehouse database the cases may write to (each case only touches its own source).
    A case that restarts the warehouse runs in a lab of its own on a dedicated cluster (``cluster``: its base
    directory, under ``workdir``)."""

    def __init__(self, server: HTTPServer, workdir: Path, dsn: str, cluster: Path | None = None) -> None:
        self.server = server
        self.workdir = workdir
        self.dsn = dsn
        self.cluster = cluster

    def run(self, case: FaultCase) -> CaseResult:
        from observatory import pipeline

        if isinstance(case, PlatformCase) and case.dedicated_cluster and self.cluster is None:
            # in a folder of its own under the system's temporary folder, not the lab's workdir: as root the cluster
            # runs as another OS user, who must keep reaching its data folder (pytest resets its own temporary
            # folders to 0700 when it makes a new one, which made the restart's pg_ctl fail with EACCES)
            with (
                tempfile.TemporaryDirectory(prefix="observatory-fault-cluster-") as home,
                dedicated_cluster(Path(home), f"case_{case.name}") as (base, dsn),
            ):
                return FaultLab(self.server, self.workdir, dsn, cluster=base).run(case)
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
            runners: dict[str, Callable[..., tuple[str | None, dict[str, Any]]]] = {
                "inline": self._run_inline,
                "killed_mid_copy": self._run_killed,
                "concurrent_intervals": self._run_concurrent,
                "concurrent_same_interval": self._run_concurrent,
                "warehouse_restart_publish": self._run_restart_publish,
                "disk_full": self._run_disk_full,
                "backfill_vs_scheduled": self._run_backfill_vs_scheduled,
                "dbt_model_fails": self._run_dbt_model_fails,
                "warehouse_restart_dbt": self._run_restart_dbt,
                "celery_worker_killed": partial(run_worker_killed, self, resource),
            }
            error, notes = runners[case.run](case, source_id, env, casedir)
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

    def _run_restart_publish(
        self, case: FaultCase, source_id: str, env: dict[str, str], casedir: Path
    ) -> tuple[str | None, dict[str, Any]]:
        """A child process paused inside the publish transaction (its delete done, its insert not), the
        (dedicated) cluster restarted with a fast shutdown under it, the child let go; then a rerun here."""
        if self.cluster is None:
            raise RuntimeError(f"{case.name} restarts the warehouse: it runs on a dedicated cluster only")
        marker, resume = casedir / "publishing", casedir / "resume"
        child = _spawn_child(
            case, source_id, env, casedir / "cut.json", pause_at="publish", marker=marker, barrier=[resume]
        )
        notes: dict[str, Any] = {"fault hit": _wait_for_file(marker, child)}
        if notes["fault hit"]:
            restart_cluster(self.cluster)
            resume.touch()
        notes["cut run error"] = _child_result(child, casedir / "cut.json") or ""
        notes.update(self._after_the_fault(case, source_id))
        error, _ = self._run_inline(case, source_id, env, casedir)
        return error, notes

    def _run_disk_full(
        self, case: FaultCase, source_id: str, env: dict[str, str], casedir: Path
    ) -> tuple[str | None, dict[str, Any]]:
        """The day-2 run lands on a disk with DISK_ROOM bytes left: a small tmpfs filled up (as root, where it
        can be mounted), else a child process whose spool writes fail with ENOSPC past DISK_ROOM bytes. Then the
        space returns and the run is retried here."""
        landing = casedir / "small-disk"
        landing.mkdir()
        small = {"OBSERVATORY_LANDING_DIR": str(landing)}
        with _small_filesystem(landing, isinstance(case, PlatformCase) and case.small_disk) as filler:
            if filler is not None:
                with _pointed_at(small):
                    refused, _ = self._run_inline(case, source_id, env, casedir)
            else:
                result = casedir / "disk-full.json"
                child = _spawn_child(case, source_id, {**env, **small}, result, pause_at="never", disk_room=DISK_ROOM)
                refused = _child_result(child, result)
            notes: dict[str, Any] = {
                "fault hit": refused is not None,
                "full disk": "a filled-up tmpfs" if filler is not None else "spool writes failing with ENOSPC",
                "refused run error": refused or "",
                "files left by the refused fetch": sorted(
                    str(path.relative_to(landing)) for path in landing.rglob("*") if path.is_file() and path != filler
                ),
            }
            notes.update(self._after_the_fault(case, source_id))
            if filler is not None:
                filler.unlink()  # the space returns
            with _pointed_at(small):
                error, _ = self._run_inline(case, source_id, env, casedir)
        return error, notes

    def _run_backfill_vs_scheduled(
        self, case: FaultCase, source_id: str, env: dict[str, str], casedir: Path
    ) -> tuple[str | None, dict[str, Any]]:
        """A backfill of the interval (a child process) fetches first and is held before it stages; the scheduled
        run of the same interval (here) fetches later content and publishes it; then the backfill goes on."""
        marker, resume = casedir / "backfill-fetched", casedir / "resume"
        backfill = _spawn_child(
            case, source_id, env, casedir / "backfill.json", pause_at="stage", marker=marker, barrier=[resume]
        )
        notes: dict[str, Any] = {
            "fault hit": _wait_for_file(marker, backfill),
            "later content": hashlib.sha256(case.loaded_payload()).hexdigest(),
        }
        error, _ = self._run_inline(case, source_id, env, casedir) if notes["fault hit"] else (None, {})
        resume.touch()
        notes["backfill error"] = _child_result(backfill, casedir / "backfill.json") or ""
        return error, notes

    def _run_dbt_model_fails(
        self, case: FaultCase, source_id: str, env: dict[str, str], casedir: Path
    ) -> tuple[str | None, dict[str, Any]]:
        """The marts built on the baseline; the day-2 batch published; the marts run from a copy of the project
        with one model broken (must fail naming it, that model and its dependants kept as they were); then run
        again from the project (must complete)."""
        from observatory_dev.mart_contracts import project_copy

        if not isinstance(case, PlatformCase) or case.dbt_edit is None:
            raise TypeError(f"{case.name}: a dbt failure case names the model it breaks (dbt_edit)")
        before, error = self._marts_then_day_two(case, source_id, env, casedir)
        path, text, replacement = case.dbt_edit
        broken = project_copy(casedir / "dbt_project_broken", {path: (text, replacement)})
        (broken / "target").mkdir()  # dbt then parses only the broken model again
        shutil.copy(casedir / "dbt" / "target" / "partial_parse.msgpack", broken / "target")
        failed = _dbt(["run", "--select", MARTS], self.dsn, broken, project=broken)
        notes: dict[str, Any] = {"fault hit": failed.returncode != 0, "dbt output": failed.stdout[-4000:]}
        notes["marts after the fault"] = _mart_states(self.dsn)
        rerun = _dbt(["run", "--select", MARTS], self.dsn, casedir / "dbt")
        notes["marts before"], notes["marts after the rerun"] = before, _mart_states(self.dsn)
        return error or _dbt_error(rerun), notes

    def _run_restart_dbt(
        self, case: FaultCase, source_id: str, env: dict[str, str], casedir: Path
    ) -> tuple[str | None, dict[str, Any]]:
        """The marts built on the baseline; the day-2 batch published; the (dedicated) cluster restarted while
        ``dbt run`` of the marts builds them (once its log has the case's ``dbt_cut_at``); then the run again
        (must complete)."""
        if not isinstance(case, PlatformCase) or self.cluster is None:
            raise RuntimeError(f"{case.name} restarts the warehouse: it runs on a dedicated cluster only")
        before, error = self._marts_then_day_two(case, source_id, env, casedir)
        cut: dict[str, subprocess.CompletedProcess] = {}
        run = threading.Thread(
            target=lambda: cut.update(run=_dbt(["run", "--select", MARTS], self.dsn, casedir / "dbt", "cut-logs")),
            daemon=True,
        )
        run.start()
        started = _wait_for_text(casedir / "dbt" / "cut-logs" / "dbt.log", case.dbt_cut_at, run)
        if started:
            restart_cluster(self.cluster)
        run.join(timeout=CHILD_TIMEOUT)
        output = cut["run"].stdout if "run" in cut else ""
        notes: dict[str, Any] = {
            "fault hit": started and "run" in cut and cut["run"].returncode != 0,
            "dbt output": output[-4000:],
            "marts after the fault": _mart_states(self.dsn),
        }
        rerun = _dbt(["run", "--select", MARTS], self.dsn, casedir / "dbt")
        notes["marts before"], notes["marts after the rerun"] = before, _mart_states(self.dsn)
        return error or _dbt_error(rerun), notes

    def _marts_then_day_two(
        self, case: FaultCase, source_id: str, env: dict[str, str], casedir: Path
    ) -> tuple[dict[str, str], str | None]:
        """Build the marts (and what they need) on the baseline, then publish the day-2 batch; returns the marts'
        states before the day-2 batch and the day-2 run's error."""
        build = _dbt(
            ["build", "--select", f"+{MARTS}", "--resource-type", "model", "--resource-type", "seed"],
            self.dsn,
            casedir / "dbt",
        )
        if build.returncode:
            raise RuntimeError(f"{case.name}: building the marts on the baseline failed:\n{build.stdout[-3000:]}")
        before = _mart_states(self.dsn)
        error, _ = self._run_inline(case, source_id, env, casedir)
        return before, error

    def _after_the_fault(self, case: FaultCase, source_id: str) -> dict[str, Any]:
        """How the published rows differ from the baseline, and the batch's status and message, right after a
        fault (before any rerun)."""
        from observatory.pipeline import load_id_for

        with psycopg.connect(self.dsn) as conn:
            lost, unexpected, _ = _compare(conn, case, source_id, self.server.url_for(case.path), case.baseline.body)
            batch = conn.execute(
                "select status, message from audit.batch where load_id = %s", (load_id_for(source_id, FAULT_DAY),)
            ).fetchone()
        status, message = batch or (None, None)
        return {
            "rows changed by the fault": lost + unexpected,
            "batch after the fault": status,
            "batch message after the fault": message or "",
        }

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
        loaded = case.expected in LOADED_OUTCOMES | PLATFORM_LOADED_OUTCOMES
        expected_payload = case.loaded_payload() if loaded else case.baseline.body
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
    if case.run in PLATFORM_RUNS | CELERY_RUNS:
        if not notes["fault hit"]:
            return "the fault did not happen"
        if error is not None:
            return f"the rerun failed, the batch is {status!r}"
        return case.expected if status == "published" else f"the rerun returned, but the batch is {status!r}"
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


# --- dbt ---------------------------------------------------------------------------------------------------

MARTS = "path:models/marts"


def _dbt(
    args: list[str], dsn: str, workdir: Path, logs: str = "logs", project: Path | None = None
) -> subprocess.CompletedProcess:
    """dbt against ``dsn`` (the project, or a copy of it), its target and ``logs`` under ``workdir`` (one target
    for the runs of one project, so that the later runs parse only what changed)."""
    from observatory_dev.docs_site import dbt_command

    paths = ["--target-path", str(workdir / "target"), "--log-path", str(workdir / logs)]
    return dbt_command([*args, *paths], dsn, project, timeout=CHILD_TIMEOUT, check=False)


def _dbt_error(result: subprocess.CompletedProcess) -> str | None:
    return f"dbt rerun failed:\n{result.stdout[-2000:]}" if result.returncode else None


def _mart_states(dsn: str) -> dict[str, str]:
    """Every relation of ``marts`` and a digest of its rows (without ``dbt_built_at``, the time of the run that
    built a row), so that two builds from the same rows have the same state."""
    with psycopg.connect(dsn) as conn:
        names = [
            name
            for (name,) in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            )
        ]
        return {
            name: one_row(
                conn.execute(
                    sql.SQL(
                        "select count(*) || ':' || coalesce(md5(string_agg(row, '|' order by row)), '') from"
                        " (select (to_jsonb(t) - 'dbt_built_at')::text as row from marts.{} as t) as rows"
                    ).format(sql.Identifier(name))
                )
            )[0]
            for name in names
        }


def _wait_for_text(path: Path, text: str, thread: threading.Thread) -> bool:
    """Wait until ``path`` holds ``text`` (True), or the thread has ended or the timeout passed (False)."""
    deadline = time.monotonic() + CHILD_TIMEOUT
    while time.monotonic() < deadline and thread.is_alive():
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        time.sleep(0.02)
    return False


# --- the dedicated cluster and the small disk --------------------------------------------------------------


@contextmanager
def dedicated_cluster(base: Path, database: str) -> Iterator[tuple[Path, str]]:
    """A local cluster of its own under ``base`` (the project's own ``start_local``, pointed at ``base`` and a free
    port) with a new ``database`` holding the warehouse schema; yields (base, the database's DSN) while this
    process is pointed at it; the cluster is stopped afterwards."""
    with _pointed_at({"OBSERVATORY_LOCAL_DIR": str(base), "OBSERVATORY_PG_PORT": str(free_port())}):
        connection.start_local()
        try:
            connection.ensure_database(database, recreate=True)
            dsn = connection.local_dsn(database)
            with psycopg.connect(dsn) as conn:
                ensure_warehouse_schema(conn)
            yield base, dsn
        finally:
            _check_dedicated(base)
            connection.stop_local()


def restart_cluster(base: Path) -> None:
    """Fast shutdown, then start, of the dedicated cluster under ``base`` (refused for any other cluster)."""
    _check_dedicated(base)
    if not connection.stop_local():
        raise RuntimeError(f"the dedicated cluster under {base} was not running when its restart was due")
    connection.start_local()


def _check_dedicated(base: Path) -> None:
    if connection.cluster_dir() != base / "postgres":
        raise RuntimeError(f"pointed at {connection.cluster_dir()}, not the dedicated cluster under {base}")


@contextmanager
def _small_filesystem(directory: Path, wanted: bool) -> Iterator[Path | None]:
    """If ``wanted``, as root: a 1 MiB tmpfs mounted on ``directory`` and filled up to DISK_ROOM free bytes; yields
    the filler file (delete it to free the space), or None when not wanted or where no file system can be mounted
    (an ordinary user)."""
    if (
        not wanted
        or os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(directory)], capture_output=True
        ).returncode
    ):
        yield None
        return
    try:
        filler = directory / "filler"
        descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        written = 0
        try:
            while True:
                written += os.write(descriptor, bytes(64 * 1024))
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
        os.ftruncate(descriptor, max(written - DISK_ROOM, 0))
        os.close(descriptor)
        yield filler
    finally:
        subprocess.run(["umount", str(directory)], check=True, capture_output=True)


class _FullDisk:
    """A file whose writes fail with ENOSPC, as on a full disk, once ``room`` bytes are written."""

    def __init__(self, file: Any, room: int) -> None:
        self.file, self.room = file, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.file.write(data)

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.file.close()


# --- child processes (killed and concurrent runs) -----------------------------------------------------------


def _spawn_child(
    case: FaultCase,
    source_id: str,
    env: Mapping[str, str],
    result: Path,
    *,
    marker: Path | None = None,
    pause_at: str = "copy",
    pause_after_rows: int = 0,
    day: datetime = FAULT_DAY,
    hold: bool = False,
    barrier: Sequence[Path] = (),
    peers_done: Sequence[Path] = (),
    disk_room: int | None = None,
) -> subprocess.Popen:
    """Start ``run_child`` in a new Python process: one run of the source for ``day``, paused at ``pause_at``
    (``copy``: after ``pause_after_rows`` rows; ``stage``: before the stage step; ``publish``: inside the publish
    transaction, after its delete; ``never``), touching ``marker`` when it pauses; its spool writes failing with
    ENOSPC past ``disk_room`` bytes if given."""
    spec = {
        "pause_at": pause_at,
        "disk_room": disk_room,
        "source_id": source_id,
        "format": case.format,
        "day": day.isoformat(),
        "result": str(result),
        "pause_after_rows": pause_after_rows,
        "marker": str(marker) if marker else None,
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
    """In a child process: run the source once, pausing where the spec says (until killed, or until every run of
    a barrier got there or a peer has finished); write the outcome to the result file."""
    from observatory import pipeline
    from observatory.parse import parser_for

    spec = json.loads(sys.argv[1])
    parser = parser_for(spec["format"])

    def pause() -> None:
        Path(spec["marker"]).touch()
        _pause(spec["hold"], [Path(path) for path in spec["barrier"]], [Path(path) for path in spec["peers_done"]])

    def pausing(parse: Any) -> Any:
        def pausing_parse(source: Any, options: Mapping[str, Any]) -> Iterator[tuple]:
            for count, row in enumerate(parse(source, options), start=1):
                if count == spec["pause_after_rows"]:
                    pause()
                yield row

        return pausing_parse

    def pausing_stage(*args: Any, **kwargs: Any) -> int:
        pause()
        return stage(*args, **kwargs)

    def pausing_publish(conn: psycopg.Connection, load_id: str, source_id: str, raw_table: str) -> int:
        execute = conn.execute

        def execute_then_pause(query: Any, *more: Any, **options: Any) -> Any:
            cursor = execute(query, *more, **options)
            if isinstance(query, sql.Composable) and query.as_string(conn).startswith("delete from raw."):
                pause()
            return cursor

        conn.execute = execute_then_pause  # type: ignore[method-assign]
        return publish_batch(conn, load_id, source_id, raw_table)

    if spec["pause_at"] == "copy":
        # pauses mid-COPY, where the case kills or holds it: the pipeline reads landed files with parse_file where
        # a parser has one (streaming), else parse
        for name in ("parse", "parse_file"):
            if hasattr(parser, name):
                setattr(parser, name, pausing(getattr(parser, name)))
    stage, publish_batch = pipeline.stage, pipeline.publish_batch
    if spec["pause_at"] == "stage":
        pipeline.stage = pausing_stage
    if spec["pause_at"] == "publish":
        pipeline.publish_batch = pausing_publish
    if spec["disk_room"] is not None:
        _fill_the_spool_disk(Settings.from_env().landing_dir / PARTIAL_DIR, spec["disk_room"])
    try:
        published = pipeline.run_source(spec["source_id"], datetime.fromisoformat(spec["day"]))
        result: dict[str, Any] = {"error": None, "published": published}
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")


def _fill_the_spool_disk(spool: Path, room: int) -> None:
    """Make every file opened under ``spool`` (the landing zone's spool, where downloads are written) a
    ``_FullDisk`` with ``room`` bytes: writes past them fail with ENOSPC."""
    fdopen = os.fdopen

    def full_disk_fdopen(descriptor: int, *args: Any, **kwargs: Any) -> Any:
        file = fdopen(descriptor, *args, **kwargs)
        if not Path(os.readlink(f"/proc/self/fd/{descriptor}")).is_relative_to(spool):
            return file
        return _FullDisk(file, room)

    os.fdopen = full_disk_fdopen  # type: ignore[assignment]


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
