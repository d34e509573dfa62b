"""RSS/Atom collection: the feed, then the document each of its entries points to.

The registry entry names its feeds by ``urls`` (HTTP) or ``paths`` (local feed files). Each feed is a
resource of its own, landed and logged in the fetch log like any document (its media type set to
``application/rss+xml`` or ``application/atom+xml``, which parsers skip); then come the entries'
documents, in feed order: an entry's first enclosure of a document type, else its link, resolved
against the feed's location. A local feed may link local files; a remote feed may only link HTTP(S) on public
addresses, and a link's redirects stay on its own host or the entry's (``observatory.collect.http.FetchGuard``). A
feed that declares XML entities (an entity bomb, an
external entity) is refused before it is parsed.

Options (the entry's ``collect`` mapping): ``max_entries``, the first N entries of each feed (default all).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from functools import cache, partial
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import defusedxml
import defusedxml.ElementTree
import feedparser
import requests

from observatory.collect import Fetched
from observatory.collect.files import read_file
from observatory.collect.http import FetchError, FetchGuard, fetch_url, http_session

log = logging.getLogger(__name__)

FEED_MEDIA_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
DOCUMENT_TYPES = frozenset({"text/plain", "text/markdown", "text/html", "application/pdf"})
FOLLOWS = "the documents its entries link to"  # what sources --live cannot list in advance


def collect(source) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """Each feed of the source, each followed by its entries' documents."""
    if bool(source.urls) == bool(source.paths):
        raise ValueError(f"source {source.source_id!r}: a feed source needs exactly one of 'urls' or 'paths'")
    max_entries = source.collect.get("max_entries")
    if max_entries is not None and (not isinstance(max_entries, int) or max_entries < 1):
        raise ValueError(f"source {source.source_id!r}: collect.max_entries must be a positive integer")
    locations = source.resolved_urls() or [path.as_uri() for path in source.resolved_paths()]
    # a local feed is a file the operator keeps: its links are taken as configured
    guard = FetchGuard.for_source(source) if source.urls else None
    with http_session(guard) as session:
        for location in locations:
            fetch_feed = cache(partial(fetch_feed_at, session, location, source.project_root))
            yield location, fetch_feed
            links = document_links(fetch_feed(), location)
            for link in links[:max_entries] if max_entries is not None else links:
                yield link, partial(fetch_location, session, link, source.project_root, guard and guard.linking(link))


def refuse_xml_entities(fetched: Fetched) -> None:
    """feedparser reads XML with the standard SAX parser, which expands internal entities: let defusedxml
    refuse entity declarations (billion laughs, external entities) before feedparser sees the bytes."""
    try:
        defusedxml.ElementTree.fromstring(fetched.payload)
    except defusedxml.DefusedXmlException as exc:
        raise FetchError(f"{fetched.resource}: feed refused, it declares XML entities ({type(exc).__name__})") from exc
    except defusedxml.ElementTree.ParseError:
        pass  # not well-formed XML: feedparser's lenient parsing decides


def fetch_feed_at(session: requests.Session, location: str, project_root: Path) -> Fetched:
    """The feed at ``location`` with its feed media type; ``FetchError`` if it is not RSS or Atom."""
    fetched = fetch_location(session, location, project_root)
    refuse_xml_entities(fetched)
    parsed = feedparser.parse(fetched.payload)
    family = next((name for name in FEED_MEDIA_TYPES if parsed.version.startswith(name)), None)
    if family is None:
        raise FetchError(f"{location}: not an RSS or Atom feed ({parsed.get('bozo_exception') or 'no feed version'})")
    log.info("feed %s (%s): %d entries, %d bytes", location, parsed.version, len(parsed.entries), fetched.body.size)
    return dataclasses.replace(fetched, media_type=FEED_MEDIA_TYPES[family])


def document_links(feed: Fetched, location: str) -> list[str]:
    """The document URL of each entry of ``feed`` (fetched from ``location``), in feed order, once each."""
    local = urlsplit(location).scheme == "file"
    links: list[str] = []
    for entry in feedparser.parse(feed.payload).entries:
        enclosures = [
            link
            for link in entry.get("links", [])
            if link.get("rel") == "enclosure" and link.get("type") in DOCUMENT_TYPES
        ]
        href = enclosures[0]["href"] if enclosures else entry.get("link")
        if not href:
            log.warning("feed %s: entry %r has no link; skipped", location, entry.get("title"))
            continue
        url = urljoin(location, href)
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https") and not (local and scheme == "file"):
            log.warning("feed %s: entry link %s is not an allowed URL; skipped", location, url)
            continue
        log.info(
            "feed %s: entry %r (published %s) → %s",
            location,
            entry.get("title"),
            entry.get("published") or entry.get("updated") or "unknown",
            url,
        )
        if url not in links:
            links.append(url)
    return links


def fetch_location(session: requests.Session, url: str, project_root: Path, guard: FetchGuard | None = None) -> Fetched:
    """GET an HTTP(S) URL through ``session`` (within ``guard``, default the session's), or read a ``file:`` URL
    (named relative to ``project_root``)."""
    if urlsplit(url).scheme == "file":
        try:
            return read_file(Path(unquote(urlsplit(url).path)), project_root)
        except OSError as exc:
            raise FetchError(f"{url}: {exc.strerror or exc}") from exc
    return fetch_url(session, url, guard=guard)
