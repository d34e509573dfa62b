"""The hostile-input cases of the fault lab: payloads and answers built to exhaust a worker or to make it fetch
what it must not (compression and entity bombs, deep JSON, a slow drip, redirects into the network, other
schemes), and logical dates from a clock jump. Each is judged like the other cases (``observatory_dev.faults.lab``):
refused with its reason, nothing landed that should not be, the baseline still published."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from observatory_dev.faults.cases import (
    REJECTED_AT_FETCH,
    REJECTED_AT_PARSE,
    FaultCase,
)
from observatory_dev.faults.payloads import (
    JSON,
    RSS,
    TEXT,
    TSV,
    billion_laughs_feed,
    eurostat_tsv,
    external_entity_feed,
    gzip_bomb,
    jsonstat_cube,
    nested_json,
    report_text,
    rss_feed,
)
from observatory_dev.faults.server import Reply

REFUSED_BEFORE_FETCH = "refused before fetch"
CAP = 1024 * 1024  # the download and decompression cap of the bomb cases
TSV_HEADER, TSV_LINE = eurostat_tsv().splitlines(keepends=True)[:2]
MARKDOWN = {"Content-Type": "text/markdown; charset=utf-8"}
MARKDOWN_REPORT = b"# City update\n\n" + report_text()
FEED_DOCUMENT = "/fault/city_update.txt"  # what the feed cases' item links to (relative to the feed)


@dataclass(frozen=True)
class HostileCase(FaultCase):
    """A fault case with registry fields of its own (``entry``), other paths the server answers in both runs
    (``also_serves``), the logical date of its day-2 run (``logical_date``, default the lab's fault day), and the
    resource whose rows count (``compared``: path and good body; default the case's own)."""

    entry: Mapping[str, Any] = field(default_factory=dict)
    also_serves: Mapping[str, Reply] = field(default_factory=dict)
    logical_date: datetime | None = None
    compared: tuple[str, bytes] | None = None


def _alias_bomb_front_matter(levels: int = 9) -> bytes:
    """``a0: &a0 [9 strings]``, then each level nine aliases of the one before: 9**9 strings once expanded."""
    lines = ["a0: &a0 [" + ",".join(['"lol"'] * 9) + "]"]
    lines += [f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, levels + 1)]
    return ("---\n" + "\n".join(lines) + "\ntitle: City update\n---\n").encode()


def _redirect_to(location: str) -> Reply:
    return Reply(b"moved", status=302, headers={"Location": location})


def _redirect_case(name: str, fault: str, location: str, message: str) -> HostileCase:
    return HostileCase(
        name,
        fault,
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(), headers=TSV),
        (_redirect_to(location),),
        REJECTED_AT_FETCH,
        message=message,
    )


def _feed_case(name: str, fault: str, hostile: bytes) -> HostileCase:
    return HostileCase(
        name,
        fault,
        "document",
        "/fault/news.rss",
        Reply(rss_feed("city_update.txt"), headers=RSS),
        (Reply(hostile, headers=RSS),),
        REJECTED_AT_FETCH,
        message=r"feed refused, it declares XML entities",
        entry={"collector": "feed"},
        also_serves={FEED_DOCUMENT: Reply(report_text(), headers=TEXT)},
        compared=(FEED_DOCUMENT, report_text()),
    )


def _clock_case(name: str, fault: str, logical_date: datetime, message: str) -> HostileCase:
    return HostileCase(
        name,
        fault,
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(), headers=TSV),
        (Reply(eurostat_tsv(version=2), headers=TSV),),
        REFUSED_BEFORE_FETCH,
        message=message,
        logical_date=logical_date,
    )


HOSTILE_CASES: tuple[FaultCase, ...] = (
    HostileCase(
        "gzip_bomb_encoded",
        "gzip bomb as Content-Encoding (40 kB inflating to 20 MB)",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(), headers=TSV),
        (Reply(gzip_bomb(TSV_HEADER, TSV_LINE, 20_000_000), headers={**TSV, "Content-Encoding": "gzip"}),),
        REJECTED_AT_FETCH,
        message=rf"body is over the cap of {CAP} bytes",
        env={"OBSERVATORY_MAX_DOWNLOAD_BYTES": str(CAP)},
    ),
    HostileCase(
        "gzip_bomb_file",
        "gzip bomb as a .gz file (40 kB inflating to 20 MB)",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(), headers=TSV),
        (Reply(gzip_bomb(TSV_HEADER, TSV_LINE, 20_000_000), headers={"Content-Type": "application/gzip"}),),
        REJECTED_AT_PARSE,
        message=rf"gzip payload decompresses to more than {CAP} bytes",
        env={"OBSERVATORY_MAX_DOWNLOAD_BYTES": str(CAP)},
    ),
    HostileCase(
        "nested_json",
        "JSON nested 100 000 levels deep",
        "jsonstat",
        "/fault/migr_pop1ctz.json",
        Reply(jsonstat_cube(), headers=JSON),
        (Reply(nested_json(100_000), headers=JSON),),
        REJECTED_AT_PARSE,
        message=r"JSON nested 100001 levels deep, deeper than the cap of 64",
    ),
    HostileCase(
        "yaml_alias_bomb",
        "Markdown report whose YAML front matter is an alias bomb (9 levels of 9 references)",
        "document",
        "/fault/city_update.md",
        Reply(MARKDOWN_REPORT, headers=MARKDOWN),
        (Reply(_alias_bomb_front_matter() + MARKDOWN_REPORT, headers=MARKDOWN),),
        REJECTED_AT_PARSE,
        message=r"YAML aliases are refused",
    ),
    _feed_case("billion_laughs", 'feed with an XML entity bomb ("billion laughs")', billion_laughs_feed("x.txt")),
    _feed_case(
        "xml_external_entity", "feed with an external entity reading /etc/passwd (XXE)", external_entity_feed("x.txt")
    ),
    HostileCase(
        "slow_drip",
        "body dripped a byte every 50 ms (under the read timeout)",
        "eurostat_tsv",
        "/fault/lfsa_ergan.tsv",
        Reply(eurostat_tsv(), headers=TSV),
        (Reply(eurostat_tsv(version=2), headers=TSV, drip=0.05),),
        REJECTED_AT_FETCH,
        message=r"body not complete within 1 s",
        entry={"download_deadline_seconds": 1},
    ),
    _redirect_case(
        "redirect_metadata",
        "redirect to the cloud metadata address 169.254.169.254",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        r"link-local address 169\.254\.169\.254 is refused",
    ),
    _redirect_case(
        "redirect_private",
        "redirect to a private address (10.0.0.5)",
        "http://10.0.0.5/admin/export.tsv",
        r"private address 10\.0\.0\.5 is refused",
    ),
    _redirect_case(
        "redirect_other_host",
        "redirect to a host outside the entry's allowed hosts",
        "https://downloads.elsewhere.example/lfsa_ergan.tsv",
        r"host downloads\.elsewhere\.example is not one of the entry's allowed hosts",
    ),
    _redirect_case(
        "redirect_file_scheme",
        "redirect to file:///etc/passwd",
        "file:///etc/passwd",
        r"scheme 'file' is not allowed",
    ),
    _clock_case(
        "future_logical_date",
        "logical date a year in the future (clock jump)",
        datetime.now(UTC).replace(microsecond=0) + timedelta(days=365),
        r"logical date .* is in the future.*nothing fetched",
    ),
    _clock_case(
        "past_logical_date",
        "logical date 1970-01-01 (clock reset)",
        datetime(1970, 1, 1, tzinfo=UTC),
        r"logical date 1970-01-01 00:00 UTC is before 2000-01-01.*nothing fetched",
    ),
)
