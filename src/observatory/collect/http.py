"""HTTP collection: one ``requests`` session with retries, timeouts and a size cap.

Every limit comes from the environment (defaults in brackets):

- ``OBSERVATORY_HTTP_RETRIES`` [4] retries after the first attempt, with exponential backoff
  ``OBSERVATORY_HTTP_BACKOFF`` [0.5 s] × 2ⁿ. Retried: connection errors and resets, read timeouts, HTTP 429/5xx
  (urllib3, honouring ``Retry-After`` up to ``OBSERVATORY_RETRY_AFTER_MAX`` [120 s]), and a body cut off mid-way
  (truncated or connection dropped while streaming; retried here, since urllib3 only retries up to the headers).
- ``OBSERVATORY_CONNECT_TIMEOUT`` [10 s] and ``OBSERVATORY_READ_TIMEOUT`` [60 s] per socket operation, and
  ``OBSERVATORY_DOWNLOAD_DEADLINE`` [900 s] for the whole body, so a server dripping bytes cannot hold a worker.
- ``OBSERVATORY_MAX_DOWNLOAD_BYTES`` [512 MiB] of decoded body: checked against ``Content-Length`` before reading
  and while streaming (so a lying header or a compression bomb is cut off at the cap).

The body is written to a file as it arrives (``observatory.collect.spool``: into the landing zone when the pipeline
fetches), hashed on the way, so a download of any size up to the cap never sits in memory.

A ``FetchError`` names the URL and what went wrong (for an HTTP error, the message the server's error body carries
when the caller knows how to read it, or a plain-text body's first line); nothing is returned for a body that is
incomplete, and the file it was being written to is removed.

**Mirror.** When the setting ``mirror_url`` (``OBSERVATORY_MIRROR_URL``) is set, every GET of a URL on another
machine goes to ``{mirror_url}/{host}{path}?{query}`` instead (``mirrored``): tests and the demo point live registry
entries at a localhost mirror this way (``observatory_dev.sample_server``), and the real hosts are never contacted.
The ``Fetched`` keeps the live URL as its resource, so the landing zone and the fetch log record what was asked for.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from observatory.collect import Fetched
from observatory.collect.spool import spooled
from observatory.config.settings import Settings

if TYPE_CHECKING:
    from observatory.config.registry import Source

USER_AGENT = "integrating-cities-observatory/0.1 (+https://github.com/integrating-cities/observatory)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
CHUNK_BYTES = 64 * 1024
ERROR_BODY_BYTES = 64 * 1024  # read of an error body, for the message it carries
ERROR_EXCERPT_CHARS = 300
# Content-Types that say nothing about the content ("some bytes"): recorded as unknown, so parsers fall back to
# the resource name's extension instead of trusting a meaningless label.
GENERIC_MEDIA_TYPES = frozenset(
    {
        "application/octet-stream",
        "binary/octet-stream",
        "application/download",
        "application/x-download",
        "application/force-download",
        "application/unknown",
    }
)


ErrorReader = Callable[[bytes], str | None]  # the message of a server's error body, None when it has none


class FetchError(RuntimeError):
    """A resource could not be fetched (after retries), or broke a limit."""


class _BodyInterrupted(Exception):
    """The response started but its body did not arrive whole (a transient fault worth another attempt)."""


def _env_number(name: str, default: str) -> float:
    return float(os.environ.get(name, default))


def max_bytes() -> int:
    """The size cap of one download, in decoded bytes."""
    return int(_env_number("OBSERVATORY_MAX_DOWNLOAD_BYTES", str(512 * 1024 * 1024)))


def timeouts() -> tuple[float, float]:
    """(connect, read) seconds, per socket operation."""
    return _env_number("OBSERVATORY_CONNECT_TIMEOUT", "10"), _env_number("OBSERVATORY_READ_TIMEOUT", "60")


def download_deadline() -> float:
    """Seconds allowed for one whole body, however slowly it trickles in."""
    return _env_number("OBSERVATORY_DOWNLOAD_DEADLINE", "900")


def retry_count() -> int:
    return int(_env_number("OBSERVATORY_HTTP_RETRIES", "4"))


def backoff_factor() -> float:
    return _env_number("OBSERVATORY_HTTP_BACKOFF", "0.5")


def http_session() -> requests.Session:
    """A session whose adapter retries connection faults and retryable statuses (see the module docstring)."""
    retries = Retry(
        total=retry_count(),
        backoff_factor=backoff_factor(),
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        retry_after_max=int(_env_number("OBSERVATORY_RETRY_AFTER_MAX", "120")),
        raise_on_status=False,
    )
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(max_retries=retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def collect(source: Source) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """The source's ``urls``, one GET each, through one session."""
    with http_session() as session:
        for url in source.resolved_urls():
            yield url, partial(fetch_url, session, url)


def fetch_url(
    session: requests.Session,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    read_error: ErrorReader | None = None,
) -> Fetched:
    """GET ``url`` whole and within the limits, its body spooled to a file (with extra request ``headers``, through
    the mirror when one is set); raise ``FetchError`` on HTTP errors (with the message ``read_error`` finds in the
    error body), broken limits or when every attempt ended with an interrupted body."""
    for attempt in range(retry_count()):
        try:
            return _get(session, url, headers, read_error)
        except _BodyInterrupted:
            time.sleep(backoff_factor() * 2**attempt)
    try:
        return _get(session, url, headers, read_error)
    except _BodyInterrupted as exc:
        raise FetchError(f"GET {url}: {exc} (after {retry_count() + 1} attempts)") from exc


def _get(
    session: requests.Session, url: str, headers: Mapping[str, str] | None, read_error: ErrorReader | None
) -> Fetched:
    """One attempt: a ``FetchError`` is final, ``_BodyInterrupted`` is worth another attempt."""
    cap = max_bytes()
    target = mirrored(url)
    where = url if target == url else f"{url} (mirror {target})"
    try:
        with session.get(target, stream=True, timeout=timeouts(), headers=headers) as response:
            if response.status_code >= 400:
                detail = _error_detail(response, read_error)
                raise FetchError(f"GET {where}: HTTP {response.status_code} {response.reason}{detail}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap and "Content-Encoding" not in response.headers:
                raise FetchError(f"GET {where}: Content-Length {declared} is over the cap of {cap} bytes")
            body = spooled(_body_chunks(response, where, cap))
            return Fetched(
                resource=url,
                resource_name=resource_name(url),
                body=body,
                media_type=media_type(response.headers.get("Content-Type")),
                http_status=response.status_code,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )
    except requests.RequestException as exc:
        raise FetchError(f"GET {where}: {type(exc).__name__}: {exc}") from exc


def mirrored(url: str, mirror_url: str | None = None) -> str:
    """``url`` as the mirror (``mirror_url``, default the setting ``OBSERVATORY_MIRROR_URL``) answers it:
    ``https://host/path?query`` becomes ``{mirror_url}/host/path?query``. URLs on this machine (loopback: the sample
    server, the mirror itself) and every URL when no mirror is set are left as they are."""
    mirror = mirror_url if mirror_url is not None else Settings.from_env().mirror_url
    parts = urlsplit(url)
    if not mirror or parts.scheme not in ("http", "https") or _on_this_machine(parts.hostname or ""):
        return url
    query = f"?{parts.query}" if parts.query else ""
    return f"{mirror.rstrip('/')}/{parts.netloc}{parts.path}{query}"


def _on_this_machine(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _error_detail(response: requests.Response, read_error: ErrorReader | None) -> str:
    """``: <message>`` from an error body (the caller's reader, else a plain-text body's start), or nothing."""
    try:
        body = response.raw.read(ERROR_BODY_BYTES, decode_content=True) or b""
    except (urllib3.exceptions.HTTPError, OSError):
        return ""
    message = read_error(body) if read_error else None
    if message is None and media_type(response.headers.get("Content-Type")) == "text/plain":
        message = " ".join(body.decode("utf-8", "replace").split())[:ERROR_EXCERPT_CHARS] or None
    return f": {message}" if message else ""


def _body_chunks(response: requests.Response, url: str, cap: int) -> Iterator[bytes]:
    """The decoded body in small pieces, the cap and the deadline checked as it arrives (and, at its end, the
    length the server declared)."""
    deadline = time.monotonic() + download_deadline()
    size = 0
    try:
        while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
            size += len(chunk)
            if size > cap:
                raise FetchError(f"GET {url}: body is over the cap of {cap} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"GET {url}: body not complete within {download_deadline():g} s ({size} bytes so far)")
            yield chunk
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise _BodyInterrupted(f"read timed out after {size} bytes of the body") from exc
    except urllib3.exceptions.ProtocolError as exc:
        raise _BodyInterrupted(f"connection broken after {size} bytes of the body: {exc}") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise FetchError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
    declared = response.headers.get("Content-Length", "")
    received = response.raw.tell()  # bytes on the wire (before decoding), comparable with Content-Length
    if declared.isdigit() and received != int(declared) and response.status_code not in (204, 304):
        raise _BodyInterrupted(f"truncated body ({received} of {declared} bytes)")


def resource_name(url: str) -> str:
    """The URL's last path segment, decoded, without any path separator it decodes to (a hint for parsers,
    never a file name: the landing zone names files by content hash)."""
    segment = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return segment.replace("\\", "/").rsplit("/", 1)[-1]


def media_type(content_type: str | None) -> str | None:
    """The media type of a Content-Type header (lower-cased, parameters dropped); None when absent or generic."""
    value = (content_type or "").split(";")[0].strip().lower()
    return None if not value or value in GENERIC_MEDIA_TYPES else value
