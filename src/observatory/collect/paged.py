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
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from itertools import count
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests

from observatory.collect import Fetched
from observatory.collect.http import FetchError, fetch_url, http_session

PAGINGS = ("offset", "next_link")
FOLLOWS = "the next pages, as each answer says"  # what sources --live cannot list in advance


def collect(source) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """Every page of every start URL of the source, in order."""
    options = source.collect
    if options.get("paging") not in PAGINGS:
        raise ValueError(f"source {source.source_id!r}: collect.paging must be one of {', '.join(PAGINGS)}")
    with http_session() as session:
        for url in source.resolved_urls():
            yield from _pages(session, url, options)


def with_params(url: str, params: Mapping[str, Any]) -> str:
    """``url`` with ``params`` set in its query (replacing parameters of the same name)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({name: str(value) for name, value in params.items()})
    return urlunsplit(parts._replace(query=urlencode(query, safe="$:,")))


def _pages(
    session: requests.Session, start_url: str, options: Mapping[str, Any]
) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    offset_paging = options["paging"] == "offset"
    page_size = int(options.get("page_size", 1000))
    limit_param, offset_param = options.get("limit_param", "$limit"), options.get("offset_param", "$offset")
    url = with_params(start_url, options.get("params") or {})
    followers: list[str | None] = []  # filled by each page's fetch: where the next page is (None: no next page)
    for page in count(1):
        if offset_paging:
            url = with_params(url, {limit_param: page_size, offset_param: (page - 1) * page_size})
        yield url, partial(_fetch_page, session, url, page, options, followers)
        if len(followers) < page or followers[-1] is None:  # the caller stopped, or this was the last page
            return
        url = followers[-1]


def _fetch_page(
    session: requests.Session, url: str, page: int, options: Mapping[str, Any], followers: list[str | None]
) -> Fetched:
    """GET one page and record where the next one is; fail past ``max_pages``."""
    fetched = fetch_url(session, url)
    following = _next_url(fetched, options)
    max_pages = int(options.get("max_pages", 10_000))
    if following is not None and page >= max_pages:
        raise FetchError(f"GET {url}: more than max_pages={max_pages} pages")
    followers.append(following)
    return fetched


def _next_url(fetched: Fetched, options: Mapping[str, Any]) -> str | None:
    """The next page's URL (offset paging: this page's, re-parameterised by the caller), or None at the end."""
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
