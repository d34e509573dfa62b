"""HTTP collection: one ``requests`` session with retries, timeouts and a size cap.

Every limit comes from the environment (defaults in brackets):

- ``OBSERVATORY_HTTP_RETRIES`` [4] retries after the first attempt, with exponential backoff
  ``OBSERVATORY_HTTP_BACKOFF`` [0.5 s] × 2ⁿ. Retried: connection errors and resets, read timeouts, HTTP 429/5xx
  (urllib3, honouring ``Retry-After`` up to ``OBSERVATORY_RETRY_AFTER_MAX`` [120 s]), and a body cut off mid-way
  (truncated or connection dropped while streaming; retried here, since urllib3 only retries up to the headers).
- ``OBSERVATORY_CONNECT_TIMEOUT`` [10 s] and ``OBSERVATORY_READ_TIMEOUT`` [60 s] per socket operation, and
  ``OBSERVATORY_DOWNLOAD_DEADLINE`` [900 s] for the whole response, counted from the request (redirects
  included) and checked at each redirect and as the body arrives, so a server dripping bytes cannot hold a worker;
  a registry entry may set its own (``download_deadline_seconds``).
- ``OBSERVATORY_MAX_DOWNLOAD_BYTES`` [512 MiB] of decoded body: checked against ``Content-Length`` before reading
  and while streaming (so a lying header or a compression bomb is cut off at the cap); a registry entry may set its
  own (``max_download_bytes``), which the pipeline applies to the entry's fetch and parse (``download_cap``).

**Where requests may go** (the SSRF guard, ``FetchGuard``, one per registry entry). Only ``http`` and ``https``
URLs are fetched; redirects are followed here (at most ``MAX_REDIRECTS``), each hop checked before it is requested:

- its host must be an *allowed host*: the host of one of the entry's URLs, or one listed in the entry's
  ``allowed_hosts``;
- every address its name resolves to, and the address actually connected to (a DNS answer that changes between
  the check and the connection), must be public: loopback, private, link-local (cloud metadata), shared,
  reserved and multicast addresses are refused, unless the entry sets ``allow_private_network: true``;
- except the origins the operator configured on this machine or the local network: a URL of the entry whose host
  is ``localhost`` or a non-public address literal (``http://127.0.0.1:8000/…``: the sample server, a test's
  server) may be fetched, and redirects may go to the same host and port, but nowhere else non-public; the mirror
  (below) is such an origin too. A public host redirecting to loopback or into the private network is refused.

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

import dataclasses
import ipaddress
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlsplit

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
SCHEMES = ("http", "https")
MAX_REDIRECTS = 10
DEFAULT_PORTS = {"http": 80, "https": 443}
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


_ENTRY_CAP: ContextVar[int | None] = ContextVar("max_download_bytes", default=None)


def max_bytes() -> int:
    """The size cap of one download, in decoded bytes: the entry's (``download_cap``), else the setting."""
    return _ENTRY_CAP.get() or int(_env_number("OBSERVATORY_MAX_DOWNLOAD_BYTES", str(512 * 1024 * 1024)))


@contextmanager
def download_cap(limit: int | None) -> Iterator[None]:
    """Within the block, ``max_bytes()`` is ``limit`` (a registry entry's ``max_download_bytes``; None: the
    setting), for downloads and for what a landed gzip may inflate to."""
    token = _ENTRY_CAP.set(limit)
    try:
        yield
    finally:
        _ENTRY_CAP.reset(token)


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


Origin = tuple[str, int]  # (host, port)


@dataclass(frozen=True)
class FetchGuard:
    """Where the requests of one registry entry may go, and how long one response may take (module docstring)."""

    allowed_hosts: frozenset[str]  # lower-case host names (or address literals) a request or redirect may go to
    local_origins: frozenset[Origin] = frozenset()  # configured on this machine or the local network
    allow_private_network: bool = False
    deadline: float | None = None  # seconds for one whole response; None: ``download_deadline()``

    @classmethod
    def for_urls(
        cls,
        urls: Iterable[str],
        allowed_hosts: Iterable[str] = (),
        allow_private_network: bool = False,
        deadline: float | None = None,
    ) -> FetchGuard:
        """The guard of an entry whose requests start at ``urls``."""
        origins = {_origin(url) for url in urls if urlsplit(url).scheme in SCHEMES and urlsplit(url).hostname}
        return cls(
            allowed_hosts=frozenset({host for host, _ in origins} | {host.lower() for host in allowed_hosts}),
            local_origins=frozenset(origin for origin in origins if _configured_locally(origin[0])),
            allow_private_network=allow_private_network,
            deadline=deadline,
        )

    @classmethod
    def for_source(cls, source: Source, urls: Iterable[str] | None = None) -> FetchGuard:
        """The guard of a registry entry (its requests start at ``urls``, default its ``urls``)."""
        return cls.for_urls(
            source.resolved_urls() if urls is None else urls,
            source.allowed_hosts,
            source.allow_private_network,
            source.download_deadline_seconds,
        )

    def linking(self, url: str) -> FetchGuard:
        """This guard, with the host of ``url`` (a link in an answer, e.g. a feed's entry) allowed too: never as an
        origin configured locally, so a link into this machine or the network is still refused."""
        host = (urlsplit(url).hostname or "").lower()
        return dataclasses.replace(self, allowed_hosts=self.allowed_hosts | {host}) if host else self

    def seconds(self) -> float:
        return self.deadline if self.deadline is not None else download_deadline()

    def problem(self, url: str, target: str) -> str | None:
        """Why ``url`` (requested as ``target``: the mirror's URL for it, or itself) may not be requested, or
        None. Names are resolved here; a name that does not resolve is left to the request (a retried
        connection error), whose connected address ``peer_problem`` checks."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            return f"scheme {parts.scheme or '(none)'!r} is not allowed (only http and https)"
        if not parts.hostname:
            return "the URL has no host"
        if self.trusts(url):
            return None
        host = parts.hostname.lower()
        literal = _address(host)
        if literal is not None and not self.allow_private_network and _non_public(literal):
            return f"{_kind(literal)} address {host} is refused (allow_private_network is off)"
        if host not in self.allowed_hosts:
            return f"host {host} is not one of the entry's allowed hosts ({', '.join(sorted(self.allowed_hosts))})"
        if self.allow_private_network or self.trusts(target):  # the mirror answers it (a configured origin)
            return None
        try:
            found = socket.getaddrinfo(host, _origin(url)[1], type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return None
        for *_, sockaddr in found:
            address = _address(str(sockaddr[0]))
            if address is not None and _non_public(address):
                return f"{host} resolves to {_kind(address)} address {address}, refused (allow_private_network is off)"
        return None

    def peer_problem(self, session: requests.Session, response: requests.Response, target: str) -> str | None:
        """Why the address ``response`` came from may not be used (a DNS answer that changed after ``problem``
        looked), or None; not checked through a proxy (whose address it is) or when urllib3 does not say."""
        if self.allow_private_network or self.trusts(target):
            return None
        proxies = session.merge_environment_settings(target, {}, None, None, None)["proxies"]
        if requests.utils.select_proxy(target, proxies):
            return None
        sock = _socket_of(response)
        if sock is None:
            return None
        address = _address(str(sock.getpeername()[0]))
        if address is not None and _non_public(address):
            return f"connected to {_kind(address)} address {address}, refused (allow_private_network is off)"
        return None

    def trusts(self, target: str) -> bool:
        """Whether ``target`` is on an origin the operator configured locally, or on the mirror."""
        mirror = Settings.from_env().mirror_url
        origin = _origin(target)
        return origin in self.local_origins or bool(mirror and origin == _origin(mirror))


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket the response is read from: urllib3's connection's, or (once ``http.client`` let go of the
    connection, as it does for a response that closes it) the one under the response's own reader."""
    sock = getattr(getattr(response.raw, "_connection", None), "sock", None)
    if sock is None:
        reader = getattr(getattr(response.raw, "_fp", None), "fp", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _origin(url: str) -> Origin:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port or DEFAULT_PORTS.get(parts.scheme, 0)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` is a literal of (an IPv4-mapped IPv6 address as its IPv4 address), else None."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _non_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not address.is_global or address.is_multicast


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    for kind in ("loopback", "link-local", "private", "multicast", "unspecified"):
        if getattr(address, f"is_{kind.replace('-', '_')}"):
            return kind
    return "non-public"


def _configured_locally(host: str) -> bool:
    """``localhost`` or a non-public address literal: an operator's URL on this machine or the local network."""
    address = _address(host)
    return host == "localhost" or host.endswith(".localhost") or (address is not None and _non_public(address))


class GuardedSession(requests.Session):
    """A session that carries the ``FetchGuard`` of the entry it fetches for."""

    guard: FetchGuard | None = None


def http_session(guard: FetchGuard | None = None) -> GuardedSession:
    """A session whose adapter retries connection faults and retryable statuses (see the module docstring); its
    requests follow ``guard`` (default: each URL's own host only, redirects included)."""
    retries = Retry(
        total=retry_count(),
        backoff_factor=backoff_factor(),
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        retry_after_max=int(_env_number("OBSERVATORY_RETRY_AFTER_MAX", "120")),
        raise_on_status=False,
    )
    session = GuardedSession()
    session.guard = guard
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(max_retries=retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def collect(source: Source) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """The source's ``urls``, one GET each, through one session."""
    with http_session(FetchGuard.for_source(source)) as session:
        for url in source.resolved_urls():
            yield url, partial(fetch_url, session, url)


def fetch_url(
    session: requests.Session,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    read_error: ErrorReader | None = None,
    guard: FetchGuard | None = None,
) -> Fetched:
    """GET ``url`` whole and within the limits, its body spooled to a file (with extra request ``headers``, through
    the mirror when one is set, redirects followed within ``guard``, default the session's); raise ``FetchError``
    on HTTP errors (with the message ``read_error`` finds in the error body), broken limits, a refused URL or
    redirect, or when every attempt ended with an interrupted body."""
    for attempt in range(retry_count()):
        try:
            return _get(session, url, headers, read_error, guard)
        except _BodyInterrupted:
            time.sleep(backoff_factor() * 2**attempt)
    try:
        return _get(session, url, headers, read_error, guard)
    except _BodyInterrupted as exc:
        raise FetchError(f"GET {url}: {exc} (after {retry_count() + 1} attempts)") from exc


def _get(
    session: requests.Session,
    url: str,
    headers: Mapping[str, str] | None,
    read_error: ErrorReader | None,
    guard: FetchGuard | None,
) -> Fetched:
    """One attempt: a ``FetchError`` is final, ``_BodyInterrupted`` is worth another attempt."""
    guard = guard or getattr(session, "guard", None) or FetchGuard.for_urls([url])
    cap = max_bytes()
    deadline = time.monotonic() + guard.seconds()
    hop, target = url, mirrored(url)
    asked = url if target == url else f"{url} (mirror {target})"
    for _ in range(MAX_REDIRECTS + 1):
        where = asked if hop == url else f"{asked}, redirected to {hop}"
        if problem := guard.problem(hop, target):
            raise FetchError(f"GET {where}: {problem}")
        try:
            with session.get(
                target, stream=True, timeout=timeouts(), headers=headers, allow_redirects=False
            ) as response:
                if problem := guard.peer_problem(session, response, target):
                    raise FetchError(f"GET {where}: {problem}")
                if response.is_redirect:
                    hop = urljoin(target, response.headers["Location"])
                    target = hop if guard.trusts(hop) else mirrored(hop)
                    if time.monotonic() > deadline:
                        raise FetchError(f"GET {where}: no answer within {guard.seconds():g} s")
                    continue
                if response.status_code >= 400:
                    detail = _error_detail(response, read_error)
                    raise FetchError(f"GET {where}: HTTP {response.status_code} {response.reason}{detail}")
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > cap and "Content-Encoding" not in response.headers:
                    raise FetchError(f"GET {where}: Content-Length {declared} is over the cap of {cap} bytes")
                body = spooled(_body_chunks(response, where, cap, deadline, guard.seconds()))
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
    raise FetchError(f"GET {url}: more than {MAX_REDIRECTS} redirects")


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


def _body_chunks(response: requests.Response, url: str, cap: int, deadline: float, seconds: float) -> Iterator[bytes]:
    """The decoded body in small pieces, the cap and the ``deadline`` (monotonic time, ``seconds`` after the
    request) checked as it arrives (and, at its end, the length the server declared)."""
    size = 0
    try:
        while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
            size += len(chunk)
            if size > cap:
                raise FetchError(f"GET {url}: body is over the cap of {cap} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"GET {url}: body not complete within {seconds:g} s ({size} bytes so far)")
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
