"""HTTP collection: one ``requests`` session with urllib3 retries (backoff, Retry-After), timeouts and a size cap."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from observatory.collect import Fetched

USER_AGENT = "integrating-cities-observatory/0.1 (+https://github.com/integrating-cities/observatory)"
RETRY_STATUSES = (429, 500, 502, 503, 504)


class FetchError(RuntimeError):
    """A resource could not be fetched (after retries), or broke a limit."""


def max_bytes() -> int:
    return int(os.environ.get("OBSERVATORY_MAX_DOWNLOAD_BYTES", str(512 * 1024 * 1024)))


def timeouts() -> tuple[float, float]:
    """(connect, read) seconds."""
    return (float(os.environ.get("OBSERVATORY_CONNECT_TIMEOUT", "10")),
            float(os.environ.get("OBSERVATORY_READ_TIMEOUT", "60")))


def http_session(total_retries: int | None = None, backoff_factor: float | None = None) -> requests.Session:
    retries = Retry(
        total=int(os.environ.get("OBSERVATORY_HTTP_RETRIES", "4")) if total_retries is None else total_retries,
        connect=None,
        read=None,
        backoff_factor=float(os.environ.get("OBSERVATORY_HTTP_BACKOFF", "0.5"))
        if backoff_factor is None else backoff_factor,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(max_retries=retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def collect(source) -> Iterator[tuple[str, Callable[[], Fetched]]]:
    """The source's ``urls``, one GET each, through one session."""
    with http_session() as session:
        for url in source.resolved_urls():
            yield url, partial(fetch_url, session, url)


def fetch_url(session: requests.Session, url: str) -> Fetched:
    """GET ``url`` streaming, within the size cap; raise ``FetchError`` on HTTP errors or a broken limit."""
    cap = max_bytes()
    try:
        with session.get(url, stream=True, timeout=timeouts()) as response:
            if response.status_code >= 400:
                raise FetchError(f"GET {url}: HTTP {response.status_code} {response.reason}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise FetchError(f"GET {url}: Content-Length {declared} is over the cap of {cap} bytes")
            chunks, size = [], 0
            for chunk in response.iter_content(chunk_size=1 << 20):
                size += len(chunk)
                if size > cap:
                    raise FetchError(f"GET {url}: body is over the cap of {cap} bytes")
                chunks.append(chunk)
            payload = b"".join(chunks)
            if declared and declared.isdigit() and int(declared) != len(payload):
                raise FetchError(f"GET {url}: truncated body ({len(payload)} of {declared} bytes)")
            media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip() or None
            return Fetched(
                resource=url,
                resource_name=unquote(urlsplit(url).path.rsplit("/", 1)[-1]),
                payload=payload,
                media_type=media_type,
                http_status=response.status_code,
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )
    except requests.RequestException as exc:
        raise FetchError(f"GET {url}: {type(exc).__name__}: {exc}") from exc
