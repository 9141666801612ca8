"""The HTTP/1.1 connection bounds that uvicorn's httptools protocol lacks: a cap on the request head's size
(431), a deadline for reading the head and one for reading the body (a slowloris connection is closed), and a cap
on open connections (a new one beyond it is answered 503 and closed, so half-open connections cannot take every
file descriptor).

They live in the protocol, not in ASGI middleware, because they must act before a request exists: httptools
buffers a header until it is complete (a 64 MB header would be held, then parsed, on the event loop), and a
connection that never finishes its head never reaches the app. The counting is per socket read, so the per-request
cost is a comparison or two; the body's size cap is the façade's (it answers 413 in the app, with the request id).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from http_facade.edge import ON_DISCONNECT

log = logging.getLogger("aqueduct.http")

# How long a rejected connection's further input is read and discarded before the socket is closed.
_LINGER_SECONDS = 2.0
_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int
    header_timeout_seconds: float
    body_timeout_seconds: float
    max_connections: int


def _error_bytes(status: int, message: str, kind: str) -> bytes:
    """A complete `connection: close` answer in OpenAI's error shape, written straight to the socket."""
    body = json.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}}).encode()
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % (
        status,
        _REASONS[status],
        len(body),
    )
    return head + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with `limits` (set on the subclass that `protocol_class` makes)."""

    limits: ConnectionLimits

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._discarding = False
        self._on_disconnect: list[Callable[[], object]] = []

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            log.warning("connection refused: %d open connections (max_connections)", len(self.connections) - 1)
            self._reject(503, "Too many open connections. Please retry.", "server_error")
            return
        # A fresh connection must send a complete head in time; so must each later request on it (re-armed when
        # its first byte arrives; until then uvicorn's keep-alive timeout closes an idle connection).
        self._arm(self.limits.header_timeout_seconds, "header")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        unanswered = self.cycle is not None and not self.cycle.response_complete
        super().connection_lost(exc)
        if unanswered:
            for hook in self._on_disconnect:
                hook()

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        in_head = self._in_head
        super().data_received(data)
        # Counted after parsing, only for reads that began and ended inside a head, so body bytes that arrive
        # with the end of the head are never counted; a read is at most the transport's buffer (≤ 256 KiB).
        if in_head and self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes and not self.transport.is_closing():
                self._reject(431, "The request's headers are too large.", "invalid_request_error")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope[ON_DISCONNECT] = self._on_disconnect = []  # type: ignore[literal-required]
        self._in_head = True
        self._head_bytes = 0
        if self._timer is None:
            self._arm(self.limits.header_timeout_seconds, "header")

    def on_headers_complete(self) -> None:
        self._in_head = False
        # A head that arrived whole in one read was not counted above; its parsed size is.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            self._reject(431, "The request's headers are too large.", "invalid_request_error")
            return
        self._arm(self.limits.body_timeout_seconds, "body")
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._discarding:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._discarding:
            return
        self._disarm()
        super().on_message_complete()

    def _arm(self, seconds: float, part: str) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._timed_out, part)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self, part: str) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        log.info("closing a connection from %s: its request %s took too long to arrive", _peer(self.client), part)
        if part == "header" and self._head_bytes == 0 and self.cycle is None:
            self.transport.close()  # idle since connecting: nothing to answer
        elif self.cycle is None or not self.cycle.response_started:
            self._reject(408, f"The request {part} was not received in time.", "invalid_request_error")
        else:
            self.transport.close()

    def _reject(self, status: int, message: str, kind: str) -> None:
        """Answers and closes with a lingering close, as nginx does: closing a socket that still has unread
        input sends a reset, which can destroy the answer before the client reads it. So the write side is shut,
        what the client still sends is discarded, and the socket is closed at its EOF or after a short linger."""
        self._disarm()
        self._discarding = True
        self.transport.write(_error_bytes(status, message, kind))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._timer = self.loop.call_later(_LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def eof_received(self) -> None:
        if self._discarding:
            self.transport.close()


def _peer(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "?"


def protocol_class(limits: ConnectionLimits) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for uvicorn.Config(http=...): uvicorn instantiates the class it is given."""
    return type("AqueductHttpProtocol", (BoundedHttpToolsProtocol,), {"limits": limits})
