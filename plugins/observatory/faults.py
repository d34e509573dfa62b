"""Fault injection: the faults a collection run meets in the wild, each replayed against a scripted HTTP server
on localhost and the real warehouse, with the outcome the pipeline must reach.

A case gives its own source (a temporary registry file) a good baseline batch first (day 1), then runs it
again (day 2) while the server misbehaves, through ``observatory.pipeline``, and checks

- the outcome: ``loaded`` / ``retried, loaded`` (the day-2 rows are published), or ``rejected at fetch`` /
  ``rejected at parse`` / ``quarantined`` (the run raises a message naming the fault, audit.batch says so,
  the payload is kept in the landing zone when one arrived, and the baseline stays published);
- rows lost: rows that should be published and are not (the day-2 payload's rows when loaded, the baseline's
  otherwise; expected rows come from the project's parser on the good payload and are compared with the
  published rows by PostgreSQL, value by value); unexpected rows must be none either;
- duplicates: published rows beyond one per natural key.

``tests/faults`` runs every case under pytest; ``python -m observatory.faults`` (``make faults``) runs the same
cases in a scratch database of the local cluster and prints a table ending with
``faults tried=<N> survived=<M> rows_lost=<L> duplicates=<D>``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import yaml
from psycopg import sql
from psycopg.rows import dict_row

from observatory.collect.http import resource_name
from observatory.raw_tables import RAW_TABLES

if TYPE_CHECKING:
    from pytest_httpserver import HTTPServer
    from werkzeug import Request, Response

BASELINE_DAY = datetime(2026, 5, 1, tzinfo=UTC)
FAULT_DAY = datetime(2026, 5, 2, tzinfo=UTC)
NEXT_DAY = datetime(2026, 5, 3, tzinfo=UTC)

LOADED = "loaded"
RETRIED = "retried, loaded"
KILLED_THEN_LOADED = "killed mid-COPY, rerun loaded"
BOTH_LOADED = "both runs loaded"
ONE_LOADED_ONE_REFUSED = "one run loaded, the other refused"
REJECTED_AT_FETCH = "rejected at fetch"
REJECTED_AT_PARSE = "rejected at parse"
QUARANTINED = "quarantined"
LOADED_OUTCOMES = frozenset({LOADED, RETRIED, KILLED_THEN_LOADED, BOTH_LOADED, ONE_LOADED_ONE_REFUSED})
REJECTED_OUTCOMES = frozenset({REJECTED_AT_FETCH, REJECTED_AT_PARSE, QUARANTINED})

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


# --- the scripted server -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP response (or a way of not giving one)."""

    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a read timeout when longer than the client's)
    reset: bool = False  # drop the connection with a TCP RST instead of answering
    cut_at: int | None = None  # declare the whole body's Content-Length, send only this many bytes, close
    drip: float = 0.0  # send the body one byte at a time, this many seconds apart


class ScriptedResource:
    """Answers one path with its replies in order (the last one repeats) and notes when each request came."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        if not replies:
            raise ValueError("a scripted resource needs at least one reply")
        self.replies = list(replies)
        self.request_times: list[float] = []

    def __call__(self, request: Request) -> Response:
        self.request_times.append(time.monotonic())
        reply = self.replies[min(len(self.request_times), len(self.replies)) - 1]
        return _respond(reply, request)


def serve(server: HTTPServer, path: str, replies: Sequence[Reply]) -> ScriptedResource:
    """Script GET ``path`` on a pytest-httpserver ``server``; returns the resource (to read its request times)."""
    resource = ScriptedResource(replies)
    server.expect_request(path, method="GET").respond_with_handler(resource)
    return resource


def _respond(reply: Reply, request: Request) -> Response:
    from werkzeug import Response

    if reply.delay:
        time.sleep(reply.delay)
    if reply.reset:
        connection = _take_socket(request)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()  # with a zero linger time, close sends RST
        return Response(status=500)  # never reaches the client: the socket is gone
    headers = dict(reply.headers)
    if reply.cut_at is not None:
        connection = _take_socket(request)
        head = [f"HTTP/1.1 {reply.status} Scripted", f"Content-Length: {len(reply.body)}", "Connection: close",
                *(f"{name}: {value}" for name, value in headers.items())]
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body[:reply.cut_at])
        connection.shutdown(socket.SHUT_RDWR)
        connection.close()
        return Response(status=500)
    if reply.drip:
        headers["Content-Length"] = str(len(reply.body))
        return Response(_dripped(reply.body, reply.drip), status=reply.status, headers=headers)
    return Response(reply.body, status=reply.status, headers=headers)


def _take_socket(request: Request) -> socket.socket:
    """The request's connection, taken from the server (which then only fails to write to it)."""
    return socket.socket(fileno=request.environ["werkzeug.socket"].detach())


def _dripped(body: bytes, pause: float) -> Iterator[bytes]:
    """The body one byte at a time, ``pause`` seconds apart."""
    for offset in range(len(body)):
        yield body[offset:offset + 1]
        time.sleep(pause)


# --- payloads ----------------------------------------------------------------------------------------------

COUNTRIES = ("AT", "BE", "DE", "EL", "ES", "FR", "IT", "NL", "PL", "SE")


def geo_codes(count: int) -> list[str]:
    """``count`` Eurostat-shaped geo codes: countries, then NUTS-like regions (AT1, BE1, …)."""
    return [f"{country}{region or ''}" for region in range(count // len(COUNTRIES) + 1)
            for country in COUNTRIES][:count]


def eurostat_tsv(geos: int = 4, version: int = 1, duplicate_line: bool = False,
                 extra_period: bool = False) -> bytes:
    """A Eurostat bulk TSV of employment rates: 9 lines per geo, two periods (three with ``extra_period``)."""
    periods = ["2022", "2023", *(["2024"] if extra_period else [])]
    lines = ["freq,unit,sex,age,citizen,geo\\TIME_PERIOD\t" + "\t".join(f"{period} " for period in periods)]
    combinations = product(("F", "M", "T"), ("NAT", "EU27_2020_FOR", "NEU27_2020_FOR"), geo_codes(geos))
    for index, (sex, citizen, geo) in enumerate(combinations):
        rate = 40 + (index * 7 + version) % 50 + version / 10
        cells = [f"{rate:.1f} ", f"{rate + 1.3:.1f} b", *([f"{rate + 2.1:.1f} p"] if extra_period else [])]
        lines.append(f"A,PC,{sex},Y20-64,{citizen},{geo}\t" + "\t".join(cells))
    if duplicate_line:
        lines.append(lines[1])
    return ("\n".join(lines) + "\n").encode()


def jsonstat_cube(version: int = 1, value_count: int | None = None) -> bytes:
    """A JSON-stat 2.0 dataset of population by citizenship (3 citizenships × 2 years in France); with
    ``value_count`` its ``value`` array has that many entries whatever the sizes say."""
    cells = 6 if value_count is None else value_count
    document = {
        "version": "2.0", "class": "dataset", "label": "Population on 1 January by citizenship",
        "updated": "2026-03-01T11:00:00+01:00",
        "id": ["freq", "citizen", "geo", "time"], "size": [1, 3, 1, 2],
        "dimension": {
            "freq": {"category": {"index": {"A": 0}}},
            "citizen": {"category": {"index": {"NAT": 0, "EU27_2020_FOR": 1, "NEU27_2020_FOR": 2}}},
            "geo": {"category": {"index": {"FR": 0}}},
            "time": {"category": {"index": {"2022": 0, "2023": 1}}},
        },
        "value": [60_000_000 + 1_000 * version + cell for cell in range(cells)],
        "status": {"5": "p"},
    }
    return json.dumps(document).encode()


FUNDING_COLUMNS = {
    "beneficiary_name": "Name des Begünstigten",
    "operation_title": "Bezeichnung des Vorhabens",
    "start_date": "Datum des Beginns",
    "end_date": "Datum des Endes",
    "amount": "Gesamtbetrag förderfähiger Ausgaben",
    "cofinancing_rate": "Kofinanzierungssatz",
    "location_name": "PLZ Begünstigter",
    "theme": "Themenfeld",
}
FUNDING_OPERATIONS = (
    ("Jugendhilfe Süd gGmbH", "Sprachcafé für Neuzugewanderte", "01.02.2019", "31.12.2020", "91.100,16 €", "49,92%",
     "10115", "Integration"),
    ("Bildungswerk Nord e.V.", "Berufsorientierung für Geflüchtete", "15.03.2018", "14.03.2021", "1.250.000,00 €",
     "50,00%", "13353", "Beschäftigung"),
    ("Kiezküche Neukölln", "Gemeinsam kochen, Deutsch lernen", "01.09.2020", "31.08.2022", "48.730,5 €", "45%",
     "12043", "Integration"),
    ("Träger für Bildung GmbH", "Mentoring für Auszubildende", "01.01.2019", "31.12.2019", "12.004,99 €", "60,00%",
     "10997", "Bildung"),
)


def funding_csv(version: int = 1, encoding: str = "utf-8", extra_column: bool = False,
                drop_column: str | None = None) -> bytes:
    """A beneficiary list in the shape of ESF Berlin's (decimal commas, € signs, German headers)."""
    header = list(FUNDING_COLUMNS.values())
    rows = [list(operation) for operation in FUNDING_OPERATIONS]
    for row in rows:
        row[1] = f"{row[1]} ({version}. Förderrunde)"
    if extra_column:
        header.append("Projektnummer")
        for number, row in enumerate(rows, start=1):
            row.append(f"ESF-{version:02d}-{number:04d}")
    if drop_column:
        position = header.index(FUNDING_COLUMNS[drop_column])
        for line in [header, *rows]:
            del line[position]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def ics_feed(version: int = 1, invalid_dates: bool = False) -> bytes:
    """An iCalendar feed of three community events in Berlin time; ``invalid_dates`` puts one on 31 February."""
    events = []
    for day in (11, 18, 25):
        start = f"202503{day}T180000" if not (invalid_dates and day == 18) else "20250231T180000"
        events += ["BEGIN:VEVENT", f"UID:language-cafe-{day}@fault.example", "DTSTAMP:20250301T090000Z",
                   f"DTSTART;TZID=Europe/Berlin:{start}", f"DTEND;TZID=Europe/Berlin:{start[:9]}200000",
                   f"SUMMARY:Language café, round {version}", "STATUS:CONFIRMED", "END:VEVENT"]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//observatory//fault injection//EN", *events,
             "END:VCALENDAR"]
    return ("\r\n".join(lines) + "\r\n").encode()


REPORT_LINES = (
    "City network update on migrant integration",
    "The working group met in Vienna to compare local integration strategies.",
    "Berlin reported 12 new language cafes and a mentoring scheme for young refugees.",
    "Milan and Athens presented housing support for newly arrived families in 2024.",
    "Members agreed to share monitoring indicators on employment and education.",
)


def report_text(version: int = 1) -> bytes:
    """A plain-text report of a few hundred characters."""
    return ("\n\n".join(REPORT_LINES) + f"\n\nEdition {version}.\n").encode()


def report_pdf(version: int = 1) -> bytes:
    """A one-page PDF (Helvetica) with the report's lines as text."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    shown = " 0 -16 Td ".join(f"({line}) Tj" for line in (*REPORT_LINES, f"Edition {version}."))
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 11 Tf 40 780 Td {shown} ET".encode("latin-1"))
    page.replace_contents(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# Registry entries of the fault sources by format (the URL is added per case).
SOURCE_TEMPLATES: dict[str, dict[str, Any]] = {
    "eurostat_tsv": {"kind": "indicators", "suite": "eurostat_rates", "parse": {"dataset_code": "lfsa_ergan"}},
    "jsonstat": {"kind": "indicators", "suite": "eurostat_counts", "parse": {"dataset_code": "migr_pop1ctz"}},
    "funding_csv": {"kind": "funding", "suite": "funding_operation", "parse": {
        "columns": FUNDING_COLUMNS, "currency": "EUR", "country_code": "DE", "fund": "ESF",
        "date_format": "%d.%m.%Y", "decimal": ","}},
    "ics": {"kind": "events", "suite": "calendar_event", "parse": {"default_timezone": "Europe/Berlin"}},
    "document": {"kind": "reports", "suite": "report_document", "parse": {"language": "en"}},
}

JSON = {"Content-Type": "application/json"}
TSV = {"Content-Type": "text/tab-separated-values"}
CSV = {"Content-Type": "text/csv"}
ICS = {"Content-Type": "text/calendar"}
PDF = {"Content-Type": "application/pdf"}
TEXT = {"Content-Type": "text/plain; charset=utf-8"}


# --- cases -------------------------------------------------------------------------------------------------


@dataclass
class Observation:
    """What a case's day-2 run left behind, for the case's own check."""

    error: str | None  # "ExceptionType: message" of the run, None if it returned
    outcome: str
    batch: dict[str, Any] | None  # the day-2 audit.batch row
    fetches: list[dict[str, Any]]  # the day-2 audit.fetch_log rows
    published: list[dict[str, Any]]  # the source's rows in raw
    request_times: list[float]  # when the server got each day-2 request for the resource (monotonic seconds)
    notes: dict[str, Any]  # what the run mode measured on the way (e.g. rows lost right after a kill)


Check = Callable[[Observation], list[str]]


@dataclass(frozen=True)
class FaultCase:
    """One fault: a source of ``format`` at ``path``, a good ``baseline``, the day-2 ``replies`` and what must
    happen. ``run``: ``inline`` (one run in this process), ``killed_mid_copy`` (a process SIGKILLed while
    COPYing its batch, then a rerun), ``concurrent_intervals`` (two processes at once, on two logical dates)
    or ``concurrent_same_interval`` (two processes at once on the same logical date, i.e. the same batch)."""

    name: str
    fault: str
    format: str
    path: str
    baseline: Reply
    replies: tuple[Reply, ...]
    expected: str
    message: str | None = None  # regex that the failing run's message must match
    env: Mapping[str, str] = field(default_factory=dict)
    run: str = "inline"
    check: Check | None = None

    def loaded_payload(self) -> bytes:
        """The payload whose rows must be published when the case loads: the last reply's."""
        return self.replies[-1].body


@dataclass(frozen=True)
class CaseResult:
    """What a case came to; it survived when nothing is wrong (``problems`` is empty)."""

    name: str
    fault: str
    outcome: str
    rows_lost: int
    duplicates: int
    unexpected_rows: int
    problems: tuple[str, ...]

    @property
    def survived(self) -> bool:
        return not self.problems

    def report(self) -> str:
        """The result and its problems, one per line (for a failing test's message)."""
        lines = [f"{self.name}: {self.outcome}; rows lost {self.rows_lost}, duplicates {self.duplicates}, "
                 f"unexpected rows {self.unexpected_rows}"]
        return "\n".join([*lines, *(f"  - {problem}" for problem in self.problems)])


def _waited_for_retry_after(seconds: float) -> Check:
    """The retry came no sooner than the server's Retry-After asked."""

    def check(seen: Observation) -> list[str]:
        times = seen.request_times
        if len(times) < 2:
            return [f"expected a retry, the server saw {len(times)} request(s)"]
        waited = times[1] - times[0]
        return [] if waited >= seconds else [f"retried after {waited:.2f} s, before Retry-After's {seconds} s"]
    return check


def _fetched_media_type(expected: str | None) -> Check:
    """The fetch log keeps the media type the server declared."""

    def check(seen: Observation) -> list[str]:
        recorded = [fetch["media_type"] for fetch in seen.fetches if fetch["outcome"] == "fetched"]
        return [] if recorded == [expected] else [f"fetch log media types {recorded}, expected [{expected!r}]"]
    return check


def _published_media_type(expected: str) -> Check:
    """The published documents carry ``expected`` as their media type."""

    def check(seen: Observation) -> list[str]:
        found = {row["media_type"] for row in seen.published}
        return [] if found == {expected} else [f"published media types {found}, expected {{{expected!r}}}"]
    return check


def _exact_funding_values(seen: Observation) -> list[str]:
    """cp1252 text and decimal commas read exactly: an umlaut, the € sign, amounts to the cent."""
    from decimal import Decimal

    amounts = {row["beneficiary_name"]: (row["amount"], row["currency"]) for row in seen.published}
    wanted = {"Jugendhilfe Süd gGmbH": (Decimal("91100.16"), "EUR"),
              "Bildungswerk Nord e.V.": (Decimal("1250000.00"), "EUR"),
              "Kiezküche Neukölln": (Decimal("48730.50"), "EUR")}
    return [f"{name}: published {amounts.get(name)}, expected {value}"
            for name, value in wanted.items() if amounts.get(name) != value]


def _kill_left_no_trace(seen: Observation) -> list[str]:
    """The kill happened mid-COPY, left the published rows as they were, and the rerun left no stage table."""
    problems = []
    if not seen.notes.get("killed"):
        problems.append("the first run was not killed mid-COPY")
    if seen.notes.get("rows changed by the kill"):
        problems.append(f"right after the kill {seen.notes['rows changed by the kill']} published rows differed "
                        "from the baseline")
    if seen.notes.get("stage tables left"):
        problems.append(f"stage tables left after the rerun: {seen.notes['stage tables left']}")
    return problems


CASES: tuple[FaultCase, ...] = (
    FaultCase("http_5xx", "HTTP 500, 503, then 200", "eurostat_tsv", "/fault/lfsa_ergan.tsv",
              Reply(eurostat_tsv(), headers=TSV),
              (Reply(b"oops", status=500), Reply(b"busy", status=503), Reply(eurostat_tsv(version=2), headers=TSV)),
              RETRIED),
    FaultCase("http_429", "HTTP 429 with Retry-After: 1", "eurostat_tsv", "/fault/lfsa_ergan.tsv",
              Reply(eurostat_tsv(), headers=TSV),
              (Reply(b"slow down", status=429, headers={"Retry-After": "1"}),
               Reply(eurostat_tsv(version=2), headers=TSV)),
              RETRIED, check=_waited_for_retry_after(1.0)),
    FaultCase("connection_reset", "connection reset (TCP RST)", "jsonstat", "/fault/migr_pop1ctz.json",
              Reply(jsonstat_cube(), headers=JSON),
              (Reply(reset=True), Reply(jsonstat_cube(version=2), headers=JSON)), RETRIED),
    FaultCase("read_timeout", "read timeout (no answer for 1.5 s)", "jsonstat", "/fault/migr_pop1ctz.json",
              Reply(jsonstat_cube(), headers=JSON),
              (Reply(jsonstat_cube(version=2), headers=JSON, delay=1.5), Reply(jsonstat_cube(version=2), headers=JSON)),
              RETRIED, env={"OBSERVATORY_READ_TIMEOUT": "0.5"}),
    FaultCase("truncated_body", "truncated body (half of Content-Length)", "eurostat_tsv", "/fault/lfsa_ergan.tsv",
              Reply(eurostat_tsv(), headers=TSV),
              (Reply(eurostat_tsv(version=2), headers=TSV, cut_at=len(eurostat_tsv(version=2)) // 2),),
              REJECTED_AT_FETCH, message=r"connection broken|truncated"),
    FaultCase("wrong_content_type", "wrong Content-Type (JSON-stat as text/html)", "jsonstat",
              "/fault/migr_pop1ctz.json", Reply(jsonstat_cube(), headers=JSON),
              (Reply(jsonstat_cube(version=2), headers={"Content-Type": "text/html; charset=utf-8"}),),
              LOADED, check=_fetched_media_type("text/html")),
    FaultCase("generic_content_type", "report served as application/octet-stream", "document",
              "/fault/city_update.txt", Reply(report_text(), headers=TEXT),
              (Reply(report_text(version=2), headers={"Content-Type": "application/octet-stream"}),),
              LOADED, check=_published_media_type("text/plain")),
    FaultCase("invalid_json", "invalid JSON", "jsonstat", "/fault/migr_pop1ctz.json",
              Reply(jsonstat_cube(), headers=JSON),
              (Reply(jsonstat_cube(version=2)[:-40], headers=JSON),), REJECTED_AT_PARSE, message=r"invalid JSON"),
    FaultCase("jsonstat_value_count", "JSON-stat: 5 values for sizes giving 6 cells", "jsonstat",
              "/fault/migr_pop1ctz.json", Reply(jsonstat_cube(), headers=JSON),
              (Reply(jsonstat_cube(version=2, value_count=5), headers=JSON),), REJECTED_AT_PARSE,
              message=r"'value' has 5 entries but the sizes give 6 cells"),
    FaultCase("cp1252_decimal_comma", "CSV in cp1252 with decimal commas", "funding_csv", "/fault/esf.csv",
              Reply(funding_csv(), headers=CSV),
              (Reply(funding_csv(version=2, encoding="cp1252"), headers=CSV),), LOADED,
              check=_exact_funding_values),
    FaultCase("duplicated_rows", "duplicated rows", "eurostat_tsv", "/fault/lfsa_ergan.tsv",
              Reply(eurostat_tsv(), headers=TSV),
              (Reply(eurostat_tsv(version=2, duplicate_line=True), headers=TSV),), QUARANTINED,
              message=r"expect_compound_columns_to_be_unique"),
    FaultCase("new_column", "schema drift: a new column", "funding_csv", "/fault/esf.csv",
              Reply(funding_csv(), headers=CSV),
              (Reply(funding_csv(version=2, extra_column=True), headers=CSV),), LOADED),
    FaultCase("dropped_column", "schema drift: a dropped column", "funding_csv", "/fault/esf.csv",
              Reply(funding_csv(), headers=CSV),
              (Reply(funding_csv(version=2, drop_column="theme"), headers=CSV),), REJECTED_AT_PARSE,
              message=r"'theme'.*not found"),
    FaultCase("ics_invalid_dates", ".ics with an invalid date (31 February)", "ics", "/fault/events.ics",
              Reply(ics_feed(), headers=ICS),
              (Reply(ics_feed(version=2, invalid_dates=True), headers=ICS),), REJECTED_AT_PARSE,
              message=r"language-cafe-18@fault\.example.*DTSTART"),
    FaultCase("corrupt_pdf", "corrupt PDF", "document", "/fault/city_update.pdf", Reply(report_pdf(), headers=PDF),
              (Reply(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\nxref\n0 9\ngarbage", headers=PDF),),
              REJECTED_AT_PARSE, message=r"corrupt or unreadable PDF"),
    FaultCase("over_size_cap", "response over the size cap", "eurostat_tsv", "/fault/lfsa_ergan.tsv",
              Reply(eurostat_tsv(), headers=TSV), (Reply(eurostat_tsv(geos=40), headers=TSV),), REJECTED_AT_FETCH,
              message=r"over the cap of 4096 bytes", env={"OBSERVATORY_MAX_DOWNLOAD_BYTES": "4096"}),
    FaultCase("killed_mid_copy", "load process SIGKILLed during COPY, rerun", "eurostat_tsv",
              "/fault/lfsa_ergan.tsv", Reply(eurostat_tsv(geos=200), headers=TSV),
              (Reply(eurostat_tsv(geos=200, version=2), headers=TSV),), KILLED_THEN_LOADED,
              run="killed_mid_copy", check=_kill_left_no_trace),
    FaultCase("concurrent_runs", "two runs of one source at once (two intervals)", "eurostat_tsv",
              "/fault/lfsa_ergan.tsv", Reply(eurostat_tsv(geos=50), headers=TSV),
              (Reply(eurostat_tsv(geos=50, version=2), headers=TSV),), BOTH_LOADED, run="concurrent_intervals"),
    FaultCase("concurrent_same_batch", "two runs of one source at once (same interval)", "eurostat_tsv",
              "/fault/lfsa_ergan.tsv", Reply(eurostat_tsv(geos=50), headers=TSV),
              (Reply(eurostat_tsv(geos=50, version=2), headers=TSV),), ONE_LOADED_ONE_REFUSED,
              message=r"another run|in progress|already being", run="concurrent_same_interval"),
)


# --- the harness -------------------------------------------------------------------------------------------


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
        registry_path.write_text(yaml.safe_dump({"sources": {source_id: {
            **SOURCE_TEMPLATES[case.format], "format": case.format, "urls": [url],
            "description": f"fault injection: {case.fault}", "publisher": "observatory.faults",
            "freshness": {"warn_after_hours": 48, "error_after_hours": 168}}}},
            allow_unicode=True), encoding="utf-8")
        env = {**FAST_HTTP_ENV, **case.env, "OBSERVATORY_WAREHOUSE_DSN": self.dsn,
               "OBSERVATORY_REGISTRY": str(registry_path), "OBSERVATORY_LANDING_DIR": str(casedir / "landing")}
        with _pointed_at(env):
            self.server.clear()
            serve(self.server, case.path, [case.baseline])
            try:
                pipeline.run_source(source_id, BASELINE_DAY)
            except Exception as exc:  # the baseline must load: anything else is a finding, not a crash
                return CaseResult(case.name, case.fault, "baseline failed", 0, 0, 0,
                                  (f"baseline run failed: {type(exc).__name__}: {exc}",))
            self.server.clear()
            resource = serve(self.server, case.path, case.replies)
            runner = {"inline": self._run_inline, "killed_mid_copy": self._run_killed,
                      "concurrent_intervals": self._run_concurrent,
                      "concurrent_same_interval": self._run_concurrent}[case.run]
            error, notes = runner(case, source_id, env, casedir)
            return self._judge(case, source_id, url, error, resource, notes)

    # run modes: each returns (the error of the run that counts, notes for the case's check)

    def _run_inline(self, case: FaultCase, source_id: str, env: dict[str, str],
                    casedir: Path) -> tuple[str | None, dict[str, Any]]:
        """One run in this process."""
        from observatory import pipeline

        try:
            pipeline.run_source(source_id, FAULT_DAY)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}", {}
        return None, {}

    def _run_killed(self, case: FaultCase, source_id: str, env: dict[str, str],
                    casedir: Path) -> tuple[str | None, dict[str, Any]]:
        """A child process SIGKILLed mid-COPY; the published rows checked; then a rerun in this process."""
        marker = casedir / "copying"
        child = _spawn_child(case, source_id, env, casedir / "killed.json", pause_after_rows=500,
                             marker=marker, hold=True)
        notes: dict[str, Any] = {"killed": False}
        if _wait_for_file(marker, child):
            os.kill(child.pid, signal.SIGKILL)
            notes["killed"] = True
        child.wait(timeout=CHILD_TIMEOUT)
        with psycopg.connect(self.dsn) as conn:
            lost, unexpected, _ = _compare(conn, case, source_id, self.server.url_for(case.path),
                                           case.baseline.body)
        notes["rows changed by the kill"] = lost + unexpected
        error, _ = self._run_inline(case, source_id, env, casedir)
        with psycopg.connect(self.dsn) as conn:
            notes["stage tables left"] = [name for (name,) in conn.execute(
                "select tablename from pg_tables where schemaname = 'stage' and tablename like %s",
                (f"{source_id}\\_\\_%",))]
        return error, notes

    def _run_concurrent(self, case: FaultCase, source_id: str, env: dict[str, str],
                        casedir: Path) -> tuple[str | None, dict[str, Any]]:
        """Two child processes that meet inside COPY (a barrier), on two logical dates or on the same one."""
        barrier = [casedir / "ready-1", casedir / "ready-2"]
        days = [FAULT_DAY, FAULT_DAY if case.run == "concurrent_same_interval" else NEXT_DAY]
        children = [_spawn_child(case, source_id, env, casedir / f"run-{number}.json", day=day,
                                 pause_after_rows=1, marker=marker, barrier=barrier,
                                 peers_done=[casedir / f"run-{peer}.json" for peer in (1, 2) if peer != number])
                    for number, (marker, day) in enumerate(zip(barrier, days, strict=True), start=1)]
        results = [_child_result(child, casedir / f"run-{number}.json")
                   for number, child in enumerate(children, start=1)]
        failed = [result for result in results if result is not None]
        return (failed[0] if failed else None), {"failed runs": failed}

    # judging

    def _judge(self, case: FaultCase, source_id: str, url: str, error: str | None, resource: ScriptedResource,
               notes: dict[str, Any]) -> CaseResult:
        from observatory.pipeline import load_id_for

        load_id = load_id_for(source_id, FAULT_DAY)
        with psycopg.connect(self.dsn) as conn:
            records = conn.cursor(row_factory=dict_row)
            batch = records.execute("select * from audit.batch where load_id = %s", (load_id,)).fetchone()
            fetches = records.execute("select * from audit.fetch_log where load_id = %s order by fetch_id",
                                      (load_id,)).fetchall()
            published = records.execute(sql.SQL("select * from raw.{} where source_id = %s").format(
                sql.Identifier(RAW_TABLES[_raw_table(case)].name)), (source_id,)).fetchall()
            quarantined = _quarantined_rows(conn, load_id)
        outcome = _outcome(case, error, batch, fetches, resource.request_times, notes)
        seen = Observation(error, outcome, batch, fetches, published, resource.request_times, notes)
        expected_payload = case.loaded_payload() if case.expected in LOADED_OUTCOMES else case.baseline.body
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
        problems += [f"{count} {what}" for count, what in ((lost, "rows lost"), (duplicates, "duplicate rows"),
                                                             (unexpected, "unexpected rows")) if count]
        return CaseResult(case.name, case.fault, outcome, lost, duplicates, unexpected, tuple(problems))


def _raw_table(case: FaultCase) -> str:
    """The raw table the case's format writes."""
    from observatory.parse import FORMATS

    return FORMATS[case.format]


def _outcome(case: FaultCase, error: str | None, batch: dict[str, Any] | None, fetches: list[dict[str, Any]],
             request_times: list[float], notes: dict[str, Any]) -> str:
    """What happened, in the words of the outcome constants."""
    status = batch["status"] if batch else None
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


def _rejection_problems(case: FaultCase, seen: Observation, quarantined: int | None, landing: Path,
                        source_id: str) -> list[str]:
    """A rejection must say why (in the exception and in audit.batch) and keep what arrived."""
    problems = []
    batch_message = (seen.batch or {}).get("message") or ""
    if case.message and not re.search(case.message, batch_message):
        problems.append(f"audit.batch.message does not match {case.message!r}: {batch_message!r}")
    body = case.replies[-1].body
    digest = hashlib.sha256(body).hexdigest()
    kept = (landing / source_id / digest[:2] / digest)
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
    if not conn.execute("select to_regclass(%s) is not null", (table.as_string(conn),)).fetchone()[0]:
        return None
    return conn.execute(sql.SQL("select count(*) from {}").format(table)).fetchone()[0]


def _compare(conn: psycopg.Connection, case: FaultCase, source_id: str, url: str,
             payload: bytes) -> tuple[int, int, int]:
    """(rows lost, unexpected rows, duplicates) of the source's published rows against the rows the project's
    parser reads from ``payload``, compared by PostgreSQL value by value."""
    from observatory.parse import parser_for
    from observatory.registry import load_registry

    source = load_registry()[source_id]
    table = RAW_TABLES[source.raw_table]
    options = {**source.parse, "resource_name": resource_name(url), "media_type": None}
    expected_rows = list(parser_for(source.format).parse(payload, options))
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in table.column_names)
    raw = sql.Identifier(table.name)
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("create temp table expected_rows (like raw.{} including defaults) on commit drop")
                     .format(raw))
        all_columns = sql.SQL(", ").join(
            sql.Identifier(name) for name in ("load_id", "source_id", *table.column_names))
        with conn.cursor().copy(sql.SQL("copy expected_rows ({}) from stdin").format(all_columns)) as copy:
            for row in expected_rows:
                copy.write_row(("expected", source_id, *row))
        lost = conn.execute(sql.SQL(
            "select count(*) from (select {c} from expected_rows except all "
            "select {c} from raw.{t} where source_id = %s) d").format(c=columns, t=raw), (source_id,)).fetchone()
        unexpected = conn.execute(sql.SQL(
            "select count(*) from (select {c} from raw.{t} where source_id = %s except all "
            "select {c} from expected_rows) d").format(c=columns, t=raw), (source_id,)).fetchone()
        key = sql.SQL(", ").join(sql.Identifier(name) for name in table.natural_key)
        duplicates = conn.execute(sql.SQL(
            "select coalesce(sum(copies - 1), 0) from (select count(*) as copies from raw.{t} "
            "where source_id = %s group by {k}) d").format(k=key, t=raw), (source_id,)).fetchone()
    return lost[0], unexpected[0], int(duplicates[0])


@contextmanager
def _pointed_at(env: Mapping[str, str]) -> Iterator[None]:
    """Point this process at a case's registry, landing zone, warehouse and HTTP limits, and back afterwards.

    The pipeline reads the registry and the landing zone from module settings fixed at import, so those are set
    too; child processes get the same through the environment."""
    import observatory.landing
    import observatory.registry

    saved_env = {name: os.environ.get(name) for name in env}
    saved = (observatory.registry.REGISTRY_PATH, observatory.landing.LANDING_DIR)
    os.environ.update(env)
    observatory.registry.REGISTRY_PATH = Path(env["OBSERVATORY_REGISTRY"])
    observatory.landing.LANDING_DIR = Path(env["OBSERVATORY_LANDING_DIR"])
    try:
        yield
    finally:
        observatory.registry.REGISTRY_PATH, observatory.landing.LANDING_DIR = saved
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# --- child processes (killed and concurrent runs) -----------------------------------------------------------


def _spawn_child(case: FaultCase, source_id: str, env: Mapping[str, str], result: Path, *, pause_after_rows: int,
                 marker: Path, day: datetime = FAULT_DAY, hold: bool = False, barrier: Sequence[Path] = (),
                 peers_done: Sequence[Path] = ()) -> subprocess.Popen:
    """Start ``run_child`` in a new Python process: one run of the source for ``day``."""
    spec = {"source_id": source_id, "format": case.format, "day": day.isoformat(), "result": str(result),
            "pause_after_rows": pause_after_rows, "marker": str(marker), "hold": hold,
            "barrier": [str(path) for path in barrier], "peers_done": [str(path) for path in peers_done]}
    return subprocess.Popen([sys.executable, "-c", "from observatory.faults import run_child; run_child()",
                             json.dumps(spec)], env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def run_child() -> None:
    """In a child process: run the source once, pausing inside COPY after some rows (until killed, or until every
    run of a barrier got there or a peer has finished); write the outcome to the result file."""
    from observatory import pipeline
    from observatory.parse import parser_for

    spec = json.loads(sys.argv[1])
    parser = parser_for(spec["format"])
    parse = parser.parse

    def pausing_parse(payload: bytes, options: Mapping[str, Any]) -> Iterator[tuple]:
        for count, row in enumerate(parse(payload, options), start=1):
            if count == spec["pause_after_rows"]:
                Path(spec["marker"]).touch()
                _pause(spec["hold"], [Path(path) for path in spec["barrier"]],
                       [Path(path) for path in spec["peers_done"]])
            yield row

    parser.parse = pausing_parse
    try:
        published = pipeline.run_source(spec["source_id"], datetime.fromisoformat(spec["day"]))
        result = {"error": None, "published": published}
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")


def _pause(hold: bool, barrier: Sequence[Path], peers_done: Sequence[Path]) -> None:
    """Hold (until killed or the child timeout) or wait at the barrier (until all arrived, a peer is done, or
    the barrier timeout)."""
    deadline = time.monotonic() + (CHILD_TIMEOUT if hold else BARRIER_TIMEOUT)
    while time.monotonic() < deadline and (hold or not (all(path.exists() for path in barrier)
                                                        or any(path.exists() for path in peers_done))):
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
    rows = [(r.fault, r.outcome, str(r.rows_lost), str(r.duplicates), "ok" if r.survived else "FAILED")
            for r in results]
    widths = [max(len(line[column]) for line in [header, *rows]) for column in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(width) if 2 <= column <= 3 else cell.ljust(width)
                         for column, (cell, width) in enumerate(zip(cells, widths, strict=True))).rstrip()

    lines = [line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)]
    lines += [f"{result.name}: {problem}" for result in results for problem in result.problems]
    lines.append(f"faults tried={len(results)} survived={sum(r.survived for r in results)} "
                 f"rows_lost={sum(r.rows_lost for r in results)} duplicates={sum(r.duplicates for r in results)}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cases (all, or those named with --case) in a scratch database of the local cluster."""
    parser = argparse.ArgumentParser(prog="python -m observatory.faults", description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=[case.name for case in CASES],
                        help="run only this case (repeatable)")
    args = parser.parse_args(argv)
    selected = [case for case in CASES if not args.case or case.name in args.case]

    from pytest_httpserver import HTTPServer

    from observatory import warehouse
    from observatory.bootstrap import ensure_warehouse_schema

    warnings.simplefilter("ignore")
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    database = f"observatory_faults_{os.getpid()}"
    warehouse.start_local()
    warehouse.ensure_database(database, recreate=True)
    dsn = warehouse.local_dsn(database)
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
        warehouse.drop_database(database)
    print("\n".join(format_table(results)))
    return 0 if all(result.survived for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
