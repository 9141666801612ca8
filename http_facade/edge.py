"""What the façade checks before it does any work for a request: a credential of the right form (401 without
reading the body), the body's size (413 from Content-Length before reading, or while it arrives), and a client
that goes away mid-upload (an INFO line, not an error). Large bodies are parsed off the event loop.

Why the form check and not core's full token check before the body is read: a full check is a gRPC round trip
(in-process ~60 µs CPU, over TCP more) added to every request, while an unauthenticated request's cost is
already bounded by the body cap (at most max_request_body_bytes buffered per connection, for at most
http_body_timeout_seconds) and the connection cap; core still authenticates every call before any upstream
work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

import grpc
from starlette.requests import ClientDisconnect, Request

from aqueduct_contract import AUTHORIZATION, GRPC_TO_HTTP

from .errors import OpenAIError, cancelled
from .forwarding import Forwarded
from .settings import FacadeSettings

log = logging.getLogger("aqueduct.facade")

T = TypeVar("T")

# ASGI has no disconnect callback, only an `http.disconnect` message for whoever awaits `receive()`. Awaiting it
# in a watcher task costs every unary request ~5 % of its CPU, so Aqueduct's HTTP protocol puts a list under
# this scope key and calls each function in it when the connection is lost; a route appends its call's cancel.
# Under another server the key is absent and a watcher task does the same.
ON_DISCONNECT = "aqueduct.on_disconnect"

_CONTENT_LENGTH = b"content-length"
_BEARER = "bearer "


class EdgeRejection(Exception):
    """The request is answered at the edge with `error` (a 499 when the client is gone: never sent)."""

    def __init__(self, error: OpenAIError) -> None:
        self.error = error


def check_credential(fwd: Forwarded) -> None:
    """A bearer token must be present and well formed (`Bearer <printable ASCII>`, or an `api-key` /
    `x-api-key` header, which forwarding turns into one); the forwarded metadata only carries a printable-ASCII
    authorization header, so its absence there covers missing and unusable ones."""
    for key, value in fwd.metadata:
        if key == AUTHORIZATION:
            if value[:7].lower() == _BEARER and value[7:].strip():
                return
            break
    row = GRPC_TO_HTTP[grpc.StatusCode.UNAUTHENTICATED]
    raise EdgeRejection(
        OpenAIError(
            row.status,
            "missing bearer token: send 'authorization: Bearer sk-...' (or the key in an 'api-key' or "
            "'x-api-key' header)",
            row.type,
            code=row.code,
        )
    )


def too_large(limit: int, what: str = "request body") -> EdgeRejection:
    """The one 413 of the edge, for JSON bodies and uploads alike."""
    return EdgeRejection(
        OpenAIError(
            413,
            f"The {what} is larger than the limit of {limit} bytes.",
            "invalid_request_error",
            code="request_too_large",
            headers={"x-should-retry": "false"},
        )
    )


def declared_length(request: Request) -> int | None:
    """The Content-Length the client declared, or None. A malformed one is None: the HTTP parser already
    refuses it, and every body is counted as it arrives anyway."""
    for name, value in request.scope["headers"]:
        if name == _CONTENT_LENGTH:
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_body(request: Request, limit: int, fwd: Forwarded) -> bytes:
    """The whole body, at most `limit` bytes (EdgeRejection with a 413 above it)."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        log.info("client went away while sending the body of %s (request id %s)", request.url.path, fwd.request_id)
        raise EdgeRejection(cancelled()) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def parse(body: bytes, parse_body: Callable[[bytes], T], settings: FacadeSettings) -> T:
    """`parse_body(body)`, in a worker thread when the body is large: the codec is Python code, so the thread
    gives the GIL back to the event loop every switch interval instead of holding the loop for the whole parse."""
    if len(body) > settings.offload_parse_bytes:
        return await asyncio.to_thread(parse_body, body)
    return parse_body(body)
