"""Serve the bundled sample data over HTTP on localhost, so the demo collects it like a publisher's files.

Files are served as they are, except a JSON array at a Socrata resource path (``…/resource/<id>.json``), which
is answered like Socrata's SODA API answers ``GET /resource/<id>.json``: simple filters (``?country=Italy``,
a record's field equal to the value), then ``$order=:id`` (the file's order, the only order supported),
``$offset`` and ``$limit`` (default 1000). Any other ``$`` parameter is a 400, as Socrata answers a query it
cannot run, so a registry entry cannot silently rely on something the sample server ignores.
"""

from __future__ import annotations

import json
import re
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from observatory.config.settings import Settings

SOCRATA_RESOURCE = re.compile(r"/resource/[^/]+\.json$")
SOCRATA_DEFAULT_LIMIT = 1000


class QueryError(ValueError):
    """A Socrata query the sample server does not answer."""


class _SampleHandler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        parts = urlsplit(self.path)
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
        body = json.dumps(records, ensure_ascii=False).encode("utf-8")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json; charset=utf-8")
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


def serve_directory(directory: Path | None = None) -> tuple[ThreadingHTTPServer, str]:
    """Start a background HTTP server on 127.0.0.1 (free port) for ``directory`` (default: the bundled sample
    data); returns (server, base URL)."""
    directory = directory or Settings.from_env().sample_data_dir
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_SampleHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
