"""Serve the bundled sample data over HTTP on localhost, so the demo collects it like a publisher's files.

Files are served as they are, except a JSON array at a Socrata resource path (``…/resource/<id>.json``), which
is answered like Socrata's SODA API answers ``GET /resource/<id>.json``: simple filters (``?country=Italy``,
a record's field equal to the value), then ``$order=:id`` (the file's order, the only order supported),
``$offset`` and ``$limit`` (default 1000). Any other ``$`` parameter is a 400, as Socrata answers a query it
cannot run, so a registry entry cannot silently rely on something the sample server ignores.

**Mirror mode**: a request ``/<host>/<path>?<query>`` for a host that the directory's
``mirror/index.yml`` names is answered from that index, as the live URL would be answered (what
``OBSERVATORY_MIRROR_URL`` sends there, see ``observatory.collect.http.mirrored``); anything else is a file. An entry
matches on host and path and on the query parameters as a multiset (their order does not matter); a request for a
mirrored host that no entry matches is a 404 naming the URL asked for. An entry with ``async: {key, statuses}`` plays
Eurostat's asynchronous delivery (``observatory.collect.eurostat_async``): its URL is answered with the envelope that
queues the key, ``…/1.0/async/status/<key>`` with the next of ``statuses`` (the last one repeats; a new request for
the URL starts them again), ``…/1.0/async/data/<key>`` with the file once AVAILABLE was answered. A URL that asks
for a compressed answer (``compressed=true``, ``compress=true``) gets the file gzipped. The index format
is described at the top of ``sample_data/mirror/index.yml``.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

from observatory.config.settings import Settings

SOCRATA_RESOURCE = re.compile(r"/resource/[^/]+\.json$")
SOCRATA_DEFAULT_LIMIT = 1000
MIRROR_INDEX = Path("mirror") / "index.yml"
ASYNC_ENDPOINT = re.compile(r"/1\.0/async/(status|data)/([^/]+)$")
QUEUED_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">'
    '<env:Header/><env:Body><ns0:syncResponse xmlns:ns0="http://estat.ec.europa.eu/disschain/soap/extraction">'
    "<queued><id>{key}</id><status>SUBMITTED</status></queued></ns0:syncResponse></env:Body></env:Envelope>"
)
STATUS_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
    '<ns0:asyncResponse xmlns:ns1="http://estat.ec.europa.eu/disschain/asynchronous" '
    'xmlns:ns0="http://estat.ec.europa.eu/disschain/soap/asynchronous"><ns1:status><ns1:key>{key}</ns1:key>'
    "<ns1:status>{status}</ns1:status></ns1:status></ns0:asyncResponse></S:Body></S:Envelope>"
)
FAULT_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body>'
    "<S:Fault><faultcode>100</faultcode><faultstring>{message}</faultstring></S:Fault></S:Body></S:Envelope>"
)
XML = "application/xml"
Answer = tuple[int, str, bytes]  # (HTTP status, Content-Type, body)


class QueryError(ValueError):
    """A Socrata query the sample server does not answer."""


@dataclass(frozen=True)
class MirrorEntry:
    """One live URL and the sample file that answers it."""

    url: str
    file: Path
    content_type: str
    async_key: str | None = None
    statuses: tuple[str, ...] = ()

    def body(self) -> bytes:
        """The file, gzipped when the URL asks for a compressed answer (``compressed=true`` in SDMX 2.1,
        ``compress=true`` in SDMX 3.0), as Eurostat answers it."""
        query = dict(parse_qsl(urlsplit(self.url).query))
        payload = self.file.read_bytes()
        if "true" in (query.get("compressed"), query.get("compress")):
            return gzip.compress(payload, mtime=0)
        return payload

    @property
    def target(self) -> tuple[str, str, Counter]:
        """What a request must match: host, decoded path and the query parameters as a multiset."""
        parts = urlsplit(self.url)
        return parts.netloc, unquote(parts.path), Counter(parse_qsl(parts.query, keep_blank_values=True))


@dataclass
class Mirror:
    """The entries of a ``mirror/index.yml``, and the state of the asynchronous deliveries they play."""

    entries: list[MirrorEntry]
    polls: dict[str, int] = field(default_factory=dict)  # async key → status answers given since its request
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, directory: Path) -> Mirror:
        """The mirror of ``directory/mirror/index.yml`` (no entries when there is none); files are relative to
        ``directory``. A malformed entry is a ``ValueError`` naming it."""
        path = directory / MIRROR_INDEX
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else []
        if not isinstance(raw, list):
            raise ValueError(f"{path}: the index is a YAML list of entries")
        return cls([_entry(directory, path, number, item) for number, item in enumerate(raw or [], 1)])

    def serves(self, request_path: str) -> bool:
        """Whether the request's first path segment is a host this mirror answers for."""
        host = request_path.lstrip("/").split("/", 1)[0]
        return any(entry.target[0] == host for entry in self.entries)

    def answer(self, request: str) -> Answer:
        """The answer to a mirror request ``/<host>/<path>?<query>``."""
        parts = urlsplit(request)
        host, _, path = parts.path.lstrip("/").partition("/")
        wanted = (host, unquote(f"/{path}"), Counter(parse_qsl(parts.query, keep_blank_values=True)))
        if endpoint := ASYNC_ENDPOINT.search(wanted[1]):
            return self._async(host, *endpoint.groups())
        for entry in self.entries:
            if entry.target == wanted:
                return self._data(entry)
        asked = f"https://{host}/{path}" + (f"?{parts.query}" if parts.query else "")
        return HTTPStatus.NOT_FOUND, "text/plain", f"mirror: no entry in {MIRROR_INDEX} for {asked}".encode()

    def _data(self, entry: MirrorEntry) -> Answer:
        if entry.async_key is None:
            return HTTPStatus.OK, entry.content_type, entry.body()
        with self.lock:
            self.polls[entry.async_key] = 0
        return HTTPStatus.OK, XML, QUEUED_ENVELOPE.format(key=entry.async_key).encode()

    def _async(self, host: str, endpoint: str, key: str) -> Answer:
        entry = next((e for e in self.entries if e.async_key == key and e.target[0] == host), None)
        with self.lock:
            polls = self.polls.get(key)
            if entry is None or polls is None:
                return (
                    HTTPStatus.BAD_REQUEST,
                    XML,
                    FAULT_ENVELOPE.format(message="UNKNOWN_REQUEST: Unknown request.").encode(),
                )
            answered = entry.statuses[:polls]
            if endpoint == "status":
                self.polls[key] = polls + 1
                status = entry.statuses[min(polls, len(entry.statuses) - 1)]
                return HTTPStatus.OK, XML, STATUS_ENVELOPE.format(key=key, status=status).encode()
        if "AVAILABLE" in answered:
            return HTTPStatus.OK, entry.content_type, entry.body()
        message = "DATA_NOT_YET_AVAILABLE: Requested data is not yet available for download."
        return HTTPStatus.BAD_REQUEST, XML, FAULT_ENVELOPE.format(message=message).encode()


def _entry(directory: Path, index: Path, number: int, item: object) -> MirrorEntry:
    where = f"{index}: entry {number}"
    if not isinstance(item, dict) or not {"url", "file"} <= item.keys():
        raise ValueError(f"{where}: an entry is a mapping with 'url' and 'file' (and 'content_type', 'async')")
    file = directory / str(item["file"])
    if not file.is_file():
        raise ValueError(f"{where}: file {item['file']!r} is not in {directory}")
    played = item.get("async") or {}
    statuses = tuple(str(status) for status in played.get("statuses", ()))
    if played and (not played.get("key") or not statuses):
        raise ValueError(f"{where}: 'async' needs a 'key' and a non-empty list of 'statuses'")
    content_type = str(item.get("content_type", "application/octet-stream"))
    return MirrorEntry(str(item["url"]), file, content_type, played.get("key"), statuses)


class _SampleHandler(SimpleHTTPRequestHandler):
    def __init__(self, *args, mirror: Mirror, **kwargs) -> None:
        self.mirror = mirror
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        parts = urlsplit(self.path)
        if self.mirror.serves(parts.path):
            self._answer(*self.mirror.answer(self.path))
            return
        if not SOCRATA_RESOURCE.search(parts.path):
            super().do_GET()
            return
        path = Path(self.translate_path(parts.path))
        if not path.is_file():
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        try:
            records = socrata_page(json.loads(path.read_bytes()), parse_qsl(parts.query, keep_blank_values=True))
        except QueryError as exc:
            self.send_error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        self._answer(HTTPStatus.OK, "application/json; charset=utf-8", json.dumps(records, ensure_ascii=False).encode())

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
        pass


def socrata_page(records: list[dict], query: list[tuple[str, str]]) -> list[dict]:
    """The records a SODA ``GET /resource/<id>.json`` returns for ``query``: filtered, then one page."""
    if not isinstance(records, list):
        raise QueryError("the resource file is not a JSON array of records")
    params = dict(query)
    unsupported = sorted(n for n in params if n.startswith("$") and n not in ("$limit", "$offset", "$order"))
    if unsupported:
        raise QueryError(f"query parameters not supported by the sample server: {unsupported}")
    if params.get("$order", ":id") != ":id":
        raise QueryError(f"$order={params['$order']!r}: only :id (the file's order) is supported")
    try:
        offset, limit = int(params.get("$offset", 0)), int(params.get("$limit", SOCRATA_DEFAULT_LIMIT))
    except ValueError as exc:
        raise QueryError(f"$offset and $limit must be integers: {exc}") from exc
    if offset < 0 or limit < 0:
        raise QueryError("$offset and $limit must not be negative")
    filters = {name: value for name, value in params.items() if not name.startswith("$")}
    matching = [r for r in records if all(r.get(name) == value for name, value in filters.items())]
    return matching[offset : offset + limit]


def sample_server(directory: Path | None = None, port: int = 0) -> ThreadingHTTPServer:
    """The HTTP server for ``directory`` (default: the bundled sample data) on 127.0.0.1:``port`` (0: a free
    one), a mirror too when the directory has a ``mirror/index.yml``; not yet serving."""
    directory = directory or Settings.from_env().sample_data_dir
    handler = partial(_SampleHandler, directory=str(directory), mirror=Mirror.load(directory))
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve_directory(directory: Path | None = None, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start ``sample_server(directory, port)`` in a background thread; returns (server, base URL)."""
    server = sample_server(directory, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main(argv: list[str] | None = None) -> None:
    """``python -m observatory_dev.sample_server --port N [--directory D]``: serve in the foreground (the mirror
    of ``make up``)."""
    import argparse

    parser = argparse.ArgumentParser(description="serve the sample data and the mirror on 127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--directory", type=Path, default=None, help="default: the bundled sample data")
    args = parser.parse_args(argv)
    sample_server(args.directory, args.port).serve_forever()


if __name__ == "__main__":
    main()
