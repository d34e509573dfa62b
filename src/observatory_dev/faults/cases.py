"""The fault cases: what each one does to a collection run and the outcome the pipeline must reach."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from observatory_dev.faults.payloads import (
    CSV,
    ICS,
    JSON,
    PDF,
    TEXT,
    TSV,
    eurostat_tsv,
    funding_csv,
    ics_feed,
    jsonstat_cube,
    report_pdf,
    report_text,
)
from observatory_dev.faults.server import Reply

if TYPE_CHECKING:
    pass


BASELINE_DAY = datetime(2026, 5, 1, tzinfo=UTC)
FAULT_DAY = datetime(2026, 5, 2, tzinfo=UTC)
NEXT_DAY = datetime(2026, 5, 3, tzinfo=UTC)

LOADED = "loaded"
RETRIED = "retried, loaded"
KILLED_THEN_LOADED = "killed mid-COPY, rerun loaded"
BOTH_LOADED = "both runs loaded"
ONE_LOADED_ONE_REFUSED = "one run loaded, the other refused"
WORKER_KILLED_THEN_RETRIED = "worker killed mid-task, Airflow's retry loaded"
REJECTED_AT_FETCH = "rejected at fetch"
REJECTED_AT_PARSE = "rejected at parse"
QUARANTINED = "quarantined"
LOADED_OUTCOMES = frozenset(
    {LOADED, RETRIED, KILLED_THEN_LOADED, BOTH_LOADED, ONE_LOADED_ONE_REFUSED, WORKER_KILLED_THEN_RETRIED}
)
REJECTED_OUTCOMES = frozenset({REJECTED_AT_FETCH, REJECTED_AT_PARSE, QUARANTINED})


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
        lines = [
            f"{self.name}: {self.outcome}; rows lost {self.rows_lost}, duplicates {self.duplicates}, "
            f"unexpected rows {self.unexpected_rows}"
        ]
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
    wanted = {
        "Jugendhilfe Süd gGmbH": (Decimal("91100.16"), "EUR"),
        "Bildungswerk Nord e.V.": (Decimal("1250000.00"), "EUR"),
        "Kiezküche Neukölln": (Decimal("48730.50"), "EUR"),
    }
    return [
        f"{name}: published {amounts.get(name)}, expected {value}"
        for name, value in wanted.items()
        if amounts.get(name) != value
    ]


def _kill_left_no_trace(seen: Observation) -> list[str]:
    """The kill happened mid-COPY, left the published rows as they were, and the rerun left no stage table."""
    problems = []
    if not seen.notes.get("killed"):
        problems.append("the first run was not killed mid-COPY")
    if seen.notes.get("rows changed by the kill"):
        problems.append(
            f"right after the kill {seen.notes['rows changed by the kill']} published rows differed from the baseline"
        )
    if seen.notes.get("stage tables left"):
        problems.append(f"stage tables left after the rerun: {seen.notes['stage tables left']}")
    return problems


CASES: tuple[FaultCase, ...] = (
    FaultCase(
        "http_5xx",
        "HTTP 500, 503, then 200",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(), headers=TSV),
        (Reply(b"oops", status=500), Reply(b"busy", status=503), Reply(eurostat_tsv(version=2), headers=TSV)),
        RETRIED,
    ),
    FaultCase(
        "http_429",
        "HTTP 429 with Retry-After: 1",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(), headers=TSV),
        (Reply(b"slow down", status=429, headers={"Retry-After": "1"}), Reply(eurostat_tsv(version=2), headers=TSV)),
        RETRIED,
        check=_waited_for_retry_after(1.0),
    ),
    FaultCase(
        "connection_reset",
        "connection reset (TCP RST)",
        "jsonstat",
        "/fault/migr_pop1ctz.json",
        Reply(jsonstat_cube(), headers=JSON),
        (Reply(reset=True), Reply(jsonstat_cube(version=2), headers=JSON)),
        RETRIED,
    ),
    FaultCase(
        "read_timeout",
        "read timeout (no answer for 1.5 s)",
        "jsonstat",
        "/fault/migr_pop1ctz.json",
        Reply(jsonstat_cube(), headers=JSON),
        (Reply(jsonstat_cube(version=2), headers=JSON, delay=1.5), Reply(jsonstat_cube(version=2), headers=JSON)),
        RETRIED,
        env={"OBSERVATORY_READ_TIMEOUT": "0.5"},
    ),
    FaultCase(
        "truncated_body",
        "truncated body (half of Content-Length)",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(), headers=TSV),
        (Reply(eurostat_tsv(version=2), headers=TSV, cut_at=len(eurostat_tsv(version=2)) // 2),),
        REJECTED_AT_FETCH,
        message=r"connection broken|truncated",
    ),
    FaultCase(
        "wrong_content_type",
        "wrong Content-Type (JSON-stat as text/html)",
        "jsonstat",
        "/fault/migr_pop1ctz.json",
        Reply(jsonstat_cube(), headers=JSON),
        (Reply(jsonstat_cube(version=2), headers={"Content-Type": "text/html; charset=utf-8"}),),
        LOADED,
        check=_fetched_media_type("text/html"),
    ),
    FaultCase(
        "generic_content_type",
        "report served as application/octet-stream",
        "document",
        "/fault/city_update.txt",
        Reply(report_text(), headers=TEXT),
        (Reply(report_text(version=2), headers={"Content-Type": "application/octet-stream"}),),
        LOADED,
        check=_published_media_type("text/plain"),
    ),
    FaultCase(
        "invalid_json",
        "invalid JSON",
        "jsonstat",
        "/fault/migr_pop1ctz.json",
        Reply(jsonstat_cube(), headers=JSON),
        (Reply(jsonstat_cube(version=2)[:-40], headers=JSON),),
        REJECTED_AT_PARSE,
        message=r"invalid JSON",
    ),
    FaultCase(
        "jsonstat_value_count",
        "JSON-stat: 5 values for sizes giving 6 cells",
        "jsonstat",
        "/fault/migr_pop1ctz.json",
        Reply(jsonstat_cube(), headers=JSON),
        (Reply(jsonstat_cube(version=2, value_count=5), headers=JSON),),
        REJECTED_AT_PARSE,
        message=r"'value' has 5 entries but the sizes give 6 cells",
    ),
    FaultCase(
        "cp1252_decimal_comma",
        "CSV in cp1252 with decimal commas",
        "funding_csv",
        "/fault/esf.csv",
        Reply(funding_csv(), headers=CSV),
        (Reply(funding_csv(version=2, encoding="cp1252"), headers=CSV),),
        LOADED,
        check=_exact_funding_values,
    ),
    FaultCase(
        "duplicated_rows",
        "duplicated rows",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(), headers=TSV),
        (Reply(eurostat_tsv(version=2, duplicate_line=True), headers=TSV),),
        QUARANTINED,
        message=r"expect_compound_columns_to_be_unique",
    ),
    FaultCase(
        "new_column",
        "schema drift: a new column",
        "funding_csv",
        "/fault/esf.csv",
        Reply(funding_csv(), headers=CSV),
        (Reply(funding_csv(version=2, extra_column=True), headers=CSV),),
        LOADED,
    ),
    FaultCase(
        "dropped_column",
        "schema drift: a dropped column",
        "funding_csv",
        "/fault/esf.csv",
        Reply(funding_csv(), headers=CSV),
        (Reply(funding_csv(version=2, drop_column="theme"), headers=CSV),),
        REJECTED_AT_PARSE,
        message=r"'theme'.*not found",
    ),
    FaultCase(
        "ics_invalid_dates",
        ".ics with an invalid date (31 February)",
        "ics",
        "/fault/events.ics",
        Reply(ics_feed(), headers=ICS),
        (Reply(ics_feed(version=2, invalid_dates=True), headers=ICS),),
        # the 31 February event is a row whose start (and end) is NULL with the reason, not a rejected record;
        # the calendar_event suite admits a NULL start with its reason, so the batch loads, nothing rejected
        LOADED,
        check=lambda seen: (
            []
            if [
                (r["event_uid"], r["start_missing_reason"]) for r in seen.published if r["occurrence_start_utc"] is None
            ]
            == [("language-cafe-18@fault.example", "unreadable DTSTART: Wrong datetime format: 20260231T180000")]
            and (seen.batch or {}).get("rejected_count") == 0
            else [f"expected one row without a start (language-cafe-18), nothing rejected: {seen.published}"]
        ),
    ),
    FaultCase(
        "corrupt_pdf",
        "corrupt PDF",
        "document",
        "/fault/city_update.pdf",
        Reply(report_pdf(), headers=PDF),
        (Reply(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\nxref\n0 9\ngarbage", headers=PDF),),
        REJECTED_AT_PARSE,
        message=r"corrupt or unreadable PDF",
    ),
    FaultCase(
        "over_size_cap",
        "response over the size cap",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(), headers=TSV),
        (Reply(eurostat_tsv(geos=40), headers=TSV),),
        REJECTED_AT_FETCH,
        message=r"over the cap of 4096 bytes",
        env={"OBSERVATORY_MAX_DOWNLOAD_BYTES": "4096"},
    ),
    FaultCase(
        "killed_mid_copy",
        "load process SIGKILLed during COPY, rerun",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(geos=200), headers=TSV),
        (Reply(eurostat_tsv(geos=200, version=2), headers=TSV),),
        KILLED_THEN_LOADED,
        run="killed_mid_copy",
        check=_kill_left_no_trace,
    ),
    FaultCase(
        "concurrent_runs",
        "two runs of one source at once (two intervals)",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(geos=50), headers=TSV),
        (Reply(eurostat_tsv(geos=50, version=2), headers=TSV),),
        BOTH_LOADED,
        run="concurrent_intervals",
    ),
    FaultCase(
        "concurrent_same_batch",
        "two runs of one source at once (same interval)",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(geos=50), headers=TSV),
        (Reply(eurostat_tsv(geos=50, version=2), headers=TSV),),
        ONE_LOADED_ONE_REFUSED,
        message=r"another run|in progress|already being",
        run="concurrent_same_interval",
    ),
)
from observatory_dev.faults.hostile_cases import HOSTILE_CASES  # noqa: E402  (they build on the names above)

CASES += HOSTILE_CASES
from observatory_dev.faults.platform_cases import PLATFORM_CASES  # noqa: E402  (they build on the names above)

CASES += PLATFORM_CASES
from observatory_dev.faults.celery_cases import CELERY_CASES  # noqa: E402  (they build on the names above)

CASES += CELERY_CASES
