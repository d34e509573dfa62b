"""Eurostat's dissemination APIs: one dataset, filtered, one resource per source.

Options (``collect:``; a mistake is one ``RegistryError`` naming the entry): ``api`` (``statistics``, default,
``sdmx`` or ``sdmx3``), ``dataset`` (required), ``since`` / ``until`` (time periods), ``base_url`` (default
``${EUROSTAT_API_BASE_URL:-https://ec.europa.eu/eurostat/api/dissemination}``), ``poll_interval`` [5 s] and
``max_wait`` [900 s] for an asynchronous answer (``observatory.collect.eurostat_async``), and per API:

Statistics API, JSON-stat 2.0 (``filters``: any dimension, a list repeats the parameter; ``lang`` [EN]; ``format``
JSON only)::

    collector: eurostat
    collect: {dataset: migr_pop1ctz, filters: {geo: FR, age: TOTAL, sex: T, unit: NR}, since: "2014"}
    # {base}/statistics/1.0/data/migr_pop1ctz?format=JSON&lang=EN&geo=FR&age=TOTAL&sex=T&unit=NR&sinceTimePeriod=2014

SDMX 2.1 (``key``: dot-separated codes in the dataset's dimension order, several joined with ``+``, empty for all;
a string, or a list with one code, list of codes or empty item per dimension; ``format`` TSV [default] or SDMX-CSV;
``compressed`` [true]: gzip, which every parser reads)::

    collect: {api: sdmx, dataset: lfsa_ergan, key: [A, PC, [F, M, T], Y20-64, [NAT, NEU27_2020_FOR], ""],
              since: "2015", until: "2024"}
    # {base}/sdmx/2.1/data/lfsa_ergan/A.PC.F+M+T.Y20-64.NAT+NEU27_2020_FOR.?format=TSV&compressed=true
    #   &startPeriod=2015&endPeriod=2024

SDMX 3.0, SDMX-CSV 2.0 as the data browser downloads it (``filters`` become ``c[dim]=A,B``, the time range
``c[TIME_PERIOD]=ge:..+le:..``; ``labels`` id, name or both [default]; ``lang`` [en]; ``compressed`` [true])::

    collect: {api: sdmx3, dataset: urb_cpopcb, filters: {indic_ur: DE2009V}, since: "2015"}
    # {base}/sdmx/3.0/data/dataflow/ESTAT/urb_cpopcb/1.0?c[indic_ur]=DE2009V&c[TIME_PERIOD]=ge:2015&compress=true
    #   &format=csvdata&formatVersion=2.0&lang=en&labels=both

Requests are conditional: ``If-None-Match`` / ``If-Modified-Since`` carry the validators of the last successful
fetch of that URL (``audit.fetch_log``), and a ``304 Not Modified`` comes back as a ``Fetched`` with that status and
no payload, which the landing zone resolves to the content it already holds. Unchanged content is also recognised
by its ``Last-Modified`` (recorded for every API; the one stamp TSV and SDMX-CSV have) and, for JSON-stat, by the
dataset's ``updated`` (``pipeline.unchanged_reason``). An HTTP error carries the message of Eurostat's error body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import requests

from observatory.collect import Fetched
from observatory.collect.eurostat_async import settled
from observatory.collect.eurostat_messages import error_message
from observatory.collect.eurostat_urls import Query, query
from observatory.collect.http import FetchGuard, fetch_url, http_session
from observatory.landing import last_fetch
from observatory.warehouse import connection

INCREMENTAL = True  # the pipeline skips a batch whose content is the one already published

Validators = tuple[str | None, str | None]  # (ETag, Last-Modified) of an earlier fetch


def collect(source: Any) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """The source's one dataset URL and a conditional GET of it (waiting for an asynchronous answer)."""
    request = query(source.collect, where=f"source {source.source_id!r}, field 'collect'")
    with http_session(FetchGuard.for_source(source, [request.url])) as session:
        yield request.url, lambda: fetch_dataset(session, request, last_validators(source.source_id, request.url))


def dataset_url(options: Any, *, where: str) -> str:
    """The data URL that a ``collect:`` mapping names (``RegistryError`` naming ``where`` for a mistake)."""
    return query(options, where=where).url


def fetch_dataset(session: requests.Session, request: Query, validators: Validators | None) -> Fetched:
    """GET the request's URL, conditionally when ``validators`` of an earlier fetch are known, and settle an
    asynchronous answer into the data it announces."""
    etag, last_modified = validators or (None, None)
    headers = {
        header: value
        for header, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified))
        if value is not None
    }
    return settled(session, request, fetch_url(session, request.url, headers=headers, read_error=error_message))


def last_validators(source_id: str, url: str) -> Validators | None:
    """ETag and Last-Modified of the last successful fetch of ``url`` for the source, if any."""
    with connection.connect() as conn:
        previous = last_fetch(conn, source_id, url)
    return None if previous is None else (previous.etag, previous.last_modified)
