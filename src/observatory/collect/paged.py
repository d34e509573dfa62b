"""Paged JSON APIs: each page is one resource, fetched through the HTTP collector's session (retries,
timeouts, size cap) and landed before the next page is asked for.

Registry ``collect`` options (``urls`` are the first pages):

``paging``
    ``offset`` (``?$limit=…&$offset=…``, Socrata's SODA API as on the EU cohesion open-data portal) or
    ``next_link`` (each page names the next one's URL).
``records_path``
    dotted path to the array of records in a page; default: the page is the array.
``page_size`` / ``limit_param`` / ``offset_param``
    offset paging: records per page (default 1000) and the query parameter names (default ``$limit`` and
    ``$offset``). Paging stops at the first page with fewer records than ``page_size``.
``next_path``
    next-link paging: dotted path to the next page's URL in a page (default ``next``), relative URLs
    resolved against the page's own. Paging stops at a page whose next link is missing or null.
``params``
    query parameters added to every page, e.g. ``{"$order": ":id"}`` (Socrata pages are only stable
    when ordered).
``max_pages``
    a source with more pages than this fails instead of silently stopping (default 10 000).

A page that is not JSON, or has no records array at ``records_path``, fails its fetch.

**Resuming** (``RESUMABLE``): ``collect(source, load_id=…)`` resumes a batch whose fetch did not finish. When
the batch ``load_id`` is still ``fetched`` (its process was killed while paging) or ``failed`` in its fetch
(``fetch failed: …``), the pages its last attempt landed (``audit.fetch_log`` rows of that load id since the
attempt started) are answered from the landing zone without a request, and paging goes on over HTTP from the
first page not landed (a landed page whose file is gone or damaged is fetched again). The pages are still yielded
one by one and in order, so the caller lands every page of the batch again (the landing zone keeps one file per
content: nothing is duplicated) and stages the whole batch. Any other batch (published, quarantined, failed
later, or new) is fetched from its first page, as ``collect(source)`` always does: a rerun restarts cleanly, and
publish replaces the source's rows, so neither way duplicates a row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from itertools import count
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

from observatory.collect import Fetched
from observatory.collect.http import (
    CHUNK_BYTES,
    FetchError,
    FetchGuard,
    fetch_url,
    http_session,
    resource_name,
)
from observatory.collect.spool import spooled
from observatory.config.settings import Settings
from observatory.landing import LandingZone
from observatory.parse.json_depth import json_depth_problem

PAGINGS = ("offset", "next_link")
FOLLOWS = "the next pages, as each answer says"  # what sources --live cannot list in advance
RESUMABLE = True  # collect() takes the batch's load_id and resumes a fetch that did not finish
RESUMED_STATUSES = ("fetched", "failed")  # 'failed' only with the fetch step's message
FETCH_FAILED = "fetch failed:"  # how observatory.pipeline begins the message of a batch whose fetch failed


@dataclass(frozen=True)
class LandedPage:
    """A page the unfinished attempt of the batch landed, as ``audit.fetch_log`` recorded it."""

    content_sha256: str
    media_type: str | None
    http_status: int | None
    etag: str | None
    last_modified: str | None


def collect(source, load_id: str | None = None) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """Every page of every start URL of the source, in order; with ``load_id``, the pages an unfinished fetch of
    that batch already landed are read back from the landing zone (see the module docstring)."""
    options = source.collect
    if options.get("paging") not in PAGINGS:
        raise ValueError(f"source {source.source_id!r}: collect.paging must be one of {', '.join(PAGINGS)}")
    landed = landed_pages(source.source_id, load_id) if load_id else {}
    with http_session(FetchGuard.for_source(source)) as session:
        for url in source.resolved_urls():
            yield from _pages(session, url, options, landed, source.source_id)


def with_params(url: str, params: Mapping[str, Any]) -> str:
    """``url`` with ``params`` set in its query (replacing parameters of the same name)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({name: str(value) for name, value in params.items()})
    return urlunsplit(parts._replace(query=urlencode(query, safe="$:,")))


def landed_pages(source_id: str, load_id: str) -> dict[str, LandedPage]:
    """Resource → page landed by the last attempt of batch ``load_id`` when that attempt's fetch did not finish
    (the batch still ``fetched``, or ``failed`` in its fetch step); empty for any other batch. Read on a
    connection of its own, before the caller's attempt commits anything of its own."""
    from observatory.warehouse import connection

    with connection.connect() as conn:
        batch = conn.execute(
            "select status, message, started_at from audit.batch where load_id = %s and source_id = %s",
            (load_id, source_id),
        ).fetchone()
        if batch is None:
            return {}
        status, message, started_at = batch
        if status not in RESUMED_STATUSES or (status == "failed" and not (message or "").startswith(FETCH_FAILED)):
            return {}
        rows = conn.execute(
            """select resource, content_sha256, media_type, http_status, etag, last_modified from audit.fetch_log
               where load_id = %s and source_id = %s and outcome = 'fetched' and fetched_at >= %s
                 and content_sha256 is not null
               order by fetch_id""",
            (load_id, source_id, started_at),
        ).fetchall()
    return {resource: LandedPage(*page) for resource, *page in rows}


def _pages(
    session: requests.Session,
    start_url: str,
    options: Mapping[str, Any],
    landed: Mapping[str, LandedPage] | None = None,
    source_id: str = "",
) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    offset_paging = options["paging"] == "offset"
    page_size = int(options.get("page_size", 1000))
    limit_param, offset_param = options.get("limit_param", "$limit"), options.get("offset_param", "$offset")
    url = with_params(start_url, options.get("params") or {})
    followers: list[str | None] = []  # filled by each page's fetch: where the next page is (None: no next page)
    for page in count(1):
        if offset_paging:
            url = with_params(url, {limit_param: page_size, offset_param: (page - 1) * page_size})
        kept = (landed or {}).get(url)
        if kept is None:
            yield url, partial(_fetch_page, session, url, page, options, followers)
        else:
            yield url, partial(_resumed_page, session, url, page, options, followers, source_id, kept)
        if len(followers) < page or followers[-1] is None:  # the caller stopped, or this was the last page
            return
        url = followers[-1]


def _resumed_page(
    session: requests.Session,
    url: str,
    page: int,
    options: Mapping[str, Any],
    followers: list[str | None],
    source_id: str,
    landed: LandedPage,
) -> Fetched:
    """A page the unfinished attempt landed, as it was fetched then (a copy of its landing-zone file, spooled like
    a download); fetched again when that file is gone or no longer holds what was landed."""
    path = LandingZone(Settings.from_env().landing_dir).path(source_id, landed.content_sha256)
    try:
        with path.open("rb") as file:
            body = spooled(iter(partial(file.read, CHUNK_BYTES), b""))
    except OSError:
        return _fetch_page(session, url, page, options, followers)
    if body.sha256 != landed.content_sha256:
        return _fetch_page(session, url, page, options, followers)
    fetched = Fetched(
        resource=url,
        resource_name=resource_name(url),
        body=body,
        media_type=landed.media_type,
        http_status=landed.http_status,
        etag=landed.etag,
        last_modified=landed.last_modified,
    )
    followers.append(_checked_next(fetched, page, options))
    return fetched


def _fetch_page(
    session: requests.Session, url: str, page: int, options: Mapping[str, Any], followers: list[str | None]
) -> Fetched:
    """GET one page and record where the next one is; fail past ``max_pages``."""
    fetched = fetch_url(session, url)
    followers.append(_checked_next(fetched, page, options))
    return fetched


def _checked_next(fetched: Fetched, page: int, options: Mapping[str, Any]) -> str | None:
    """Where the page after ``fetched`` (page number ``page``) is; FetchError past ``max_pages``."""
    following = _next_url(fetched, options)
    max_pages = int(options.get("max_pages", 10_000))
    if following is not None and page >= max_pages:
        raise FetchError(f"GET {fetched.resource}: more than max_pages={max_pages} pages")
    return following


def _next_url(fetched: Fetched, options: Mapping[str, Any]) -> str | None:
    """The next page's URL (offset paging: this page's, re-parameterised by the caller), or None at the end."""
    if problem := json_depth_problem(fetched.payload):
        raise FetchError(f"GET {fetched.resource}: not a JSON page: {problem}")
    try:
        document = json.loads(fetched.payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FetchError(f"GET {fetched.resource}: not a JSON page: {exc}") from exc
    records = _at(document, options.get("records_path"))
    if not isinstance(records, list):
        raise FetchError(f"GET {fetched.resource}: no array of records at {options.get('records_path')!r}")
    if options["paging"] == "offset":
        return fetched.resource if len(records) >= int(options.get("page_size", 1000)) else None
    link = _at(document, options.get("next_path", "next"))
    if link is not None and not isinstance(link, str):
        raise FetchError(f"GET {fetched.resource}: next link is a {type(link).__name__}, not a URL")
    return urljoin(fetched.resource, link) if link else None


def _at(document: Any, path: str | None) -> Any:
    """The value at a dotted path (the document itself for None); None when any key is missing."""
    for key in path.split(".") if path else ():
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document
