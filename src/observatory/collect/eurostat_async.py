"""Eurostat's asynchronous delivery of a large extraction, waited for with bounded backoff.

As Eurostat documents it (https://ec.europa.eu/eurostat/web/user-guides/data-browser/api-data-access/api-detailed-guidelines/asynchronous-api;
endpoints and statuses from the ASYNC API's OpenAPI description linked there):

1. an SDMX data request (2.1 or 3.0) that is too costly to answer at once is answered 200 with an envelope naming a
   key (``syncResponse/queued/id``, status SUBMITTED); one that is too big even for that is an HTTP 413 error
   (``EXTRACTION_TOO_BIG``: filter more), raised with its message by the HTTP layer;
2. ``{base}/1.0/async/status/{key}`` says SUBMITTED or PROCESSING while the data is prepared, AVAILABLE when it is
   ready and EXPIRED when it was prepared but is no longer kept (it is kept for a limited time, and not beyond an
   update of the dataset); an unknown key is a 400 fault ``UNKNOWN_REQUEST``;
3. ``{base}/1.0/async/data/{key}`` answers the data, in the format and compression the first request asked for.

The Statistics API has no key: it answers a request it must prepare with a 200 JSON warning of status 413, and
the same request is answered from Eurostat's cache once the data is ready, so the request is repeated.

Polls wait ``poll_interval`` seconds, doubling up to ``MAX_POLL_SECONDS``, for at most ``max_wait`` seconds in all
(collect options); an expired key, another final status or a wait that runs out is one ``FetchError``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from urllib.parse import quote

import requests

from observatory.collect import Fetched
from observatory.collect.eurostat_messages import (
    ENVELOPE_MAX_BYTES,
    async_status,
    error_message,
    queued_key,
    statistics_warning,
)
from observatory.collect.eurostat_urls import Query
from observatory.collect.http import FetchError, fetch_url

MAX_POLL_SECONDS = 60.0
WAITING = frozenset({"SUBMITTED", "PROCESSING"})


def settled(session: requests.Session, query: Query, fetched: Fetched) -> Fetched:
    """``fetched`` when it holds the data (or is a 304); else the data Eurostat delivers asynchronously, under the
    resource name of the first request (its validators are those of the delivered data)."""
    envelope = _envelope(fetched)
    key = queued_key(envelope)
    if key is not None:
        delivered = _wait_for_key(session, query, key)
    elif statistics_warning(envelope):
        delivered = _wait_for_statistics(session, query)
    else:
        return fetched
    return dataclasses.replace(delivered, resource=fetched.resource, resource_name=fetched.resource_name)


def _envelope(fetched: Fetched) -> bytes:
    """The body when it is small enough to be an envelope or a warning (read into memory), else nothing: data."""
    return fetched.payload if fetched.body.size <= ENVELOPE_MAX_BYTES else b""


def _wait_for_key(session: requests.Session, query: Query, key: str) -> Fetched:
    status_url = f"{query.base_url}/1.0/async/status/{quote(key)}"

    def attempt() -> Fetched | None:
        status = async_status(fetch_url(session, status_url, read_error=error_message).payload)
        if status == "AVAILABLE":
            return fetch_url(session, f"{query.base_url}/1.0/async/data/{quote(key)}", read_error=error_message)
        if status in WAITING:
            return None
        if status == "EXPIRED":
            raise FetchError(
                f"GET {query.url}: Eurostat's asynchronous result {key} EXPIRED before it was fetched "
                "(results are kept for a limited time and dropped when the dataset is updated); the next run asks again"
            )
        raise FetchError(f"GET {status_url}: Eurostat's asynchronous request {key} ended with status {status!r}")

    return _poll(query, f"asynchronous result {key}", attempt)


def _wait_for_statistics(session: requests.Session, query: Query) -> Fetched:
    def attempt() -> Fetched | None:
        again = fetch_url(session, query.url, read_error=error_message)
        return None if statistics_warning(_envelope(again)) else again

    return _poll(query, "answer (Statistics API warning 413: the data is being prepared)", attempt)


def _poll(query: Query, what: str, attempt: Callable[[], Fetched | None]) -> Fetched:
    """``attempt()`` after waits that double from ``poll_interval`` up to ``MAX_POLL_SECONDS``, until it returns the
    data or ``max_wait`` seconds have passed."""
    deadline = time.monotonic() + query.max_wait
    delay = query.poll_interval
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_POLL_SECONDS)
        if (result := attempt()) is not None:
            return result
    raise FetchError(f"GET {query.url}: Eurostat's {what} was not ready within max_wait {query.max_wait:g} s")
