"""The scripted HTTP server of the fault lab: replies that misbehave as servers in the wild do."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_httpserver import HTTPServer
    from werkzeug import Request, Response


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP response (or a way of not giving one)."""

    body: bytes = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a read timeout when longer than the client's)
    reset: bool = False  # drop the connection with a TCP RST instead of answering
    cut_at: int | None = None  # declare the whole body's Content-Length, send only this many bytes, close
    drip: float = 0.0  # send the body one byte at a time, this many seconds apart


class ScriptedResource:
    """Answers one path with its replies in order (the last one repeats) and notes when each request came."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        if not replies:
            raise ValueError("a scripted resource needs at least one reply")
        self.replies = list(replies)
        self.request_times: list[float] = []

    def __call__(self, request: Request) -> Response:
        self.request_times.append(time.monotonic())
        reply = self.replies[min(len(self.request_times), len(self.replies)) - 1]
        return _respond(reply, request)


def serve(server: HTTPServer, path: str, replies: Sequence[Reply]) -> ScriptedResource:
    """Script GET ``path`` on a pytest-httpserver ``server``; returns the resource (to read its request times)."""
    resource = ScriptedResource(replies)
    server.expect_request(path, method="GET").respond_with_handler(resource)
    return resource


def _respond(reply: Reply, request: Request) -> Response:
    from werkzeug import Response

    if reply.delay:
        time.sleep(reply.delay)
    if reply.reset:
        client = _take_socket(request)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()  # with a zero linger time, close sends RST
        return Response(status=500)  # never reaches the client: the socket is gone
    headers = dict(reply.headers)
    if reply.cut_at is not None:
        client = _take_socket(request)
        head = [
            f"HTTP/1.1 {reply.status} Scripted",
            f"Content-Length: {len(reply.body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        client.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body[: reply.cut_at])
        client.shutdown(socket.SHUT_RDWR)
        client.close()
        return Response(status=500)
    if reply.drip:
        headers["Content-Length"] = str(len(reply.body))
        return Response(_dripped(reply.body, reply.drip), status=reply.status, headers=headers)
    return Response(reply.body, status=reply.status, headers=headers)


def _take_socket(request: Request) -> socket.socket:
    """The request's connection, taken from the server (which then only fails to write to it)."""
    return socket.socket(fileno=request.environ["werkzeug.socket"].detach())


def _dripped(body: bytes, pause: float) -> Iterator[bytes]:
    """The body one byte at a time, ``pause`` seconds apart."""
    for offset in range(len(body)):
        yield body[offset : offset + 1]
        time.sleep(pause)
