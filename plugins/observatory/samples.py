"""Serve the bundled sample data over HTTP on localhost, so the demo collects it like a publisher's files."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from observatory.settings import SAMPLE_DATA_DIR


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's signature
        pass


def serve_directory(directory: Path = SAMPLE_DATA_DIR) -> tuple[ThreadingHTTPServer, str]:
    """Start a background HTTP server on 127.0.0.1 (free port); returns (server, base URL)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
