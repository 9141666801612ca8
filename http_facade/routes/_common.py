"""What every API route does: read the body once, map it with the codec, call core with the forwarded
metadata, and answer with the codec's JSON (or SSE) or the error table's answer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from aqueduct_openai import CodecError, loads, stream_requested

from ..core_client import CoreClient
from ..edge import ON_DISCONNECT, EdgeRejection, check_credential, read_body
from ..edge import parse as edge_parse
from ..errors import cancelled, error_response, from_rpc_error, invalid_request, server_error
from ..forwarding import Forwarded, forwarded, response_headers
from ..responses import json_response
from ..settings import FacadeSettings
from ..streaming import Render, SSEResponse, StreamCall, cancel_on_disconnect, start_stream

log = logging.getLogger("aqueduct.facade")

P = TypeVar("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RouteDeps:
    core: CoreClient
    settings: FacadeSettings

    def forward(self, request: Request, endpoint: str) -> Forwarded:
        settings = self.settings
        return forwarded(request, endpoint, settings.max_request_id_length, settings.facade_credential)


class BadRequest(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


async def parse_body(
    request: Request, from_json: Callable[[Any], P], fwd: Forwarded, settings: FacadeSettings
) -> tuple[P, bool]:
    """(params, stream flag); raises BadRequest carrying the answer: 401 for a missing or malformed credential
    (the body is not read), 413 for a body over the cap, 400 for one the codec refuses."""
    try:
        check_credential(fwd)
        body = await read_body(request, settings.max_request_body_bytes, fwd)
        return await edge_parse(body, lambda raw: _decode(raw, from_json), settings)
    except EdgeRejection as rejected:
        raise BadRequest(error_response(rejected.error, fwd.request_id)) from None
    except CodecError as exc:
        raise BadRequest(error_response(invalid_request(exc.message, exc.field), fwd.request_id)) from None


def _decode(raw: bytes, from_json: Callable[[Any], P]) -> tuple[P, bool]:
    body = loads(raw)
    return from_json(body), stream_requested(body) if isinstance(body, dict) else False


async def unary(
    call: grpc.aio.UnaryUnaryCall[Any, R], render: Callable[[R], Any], fwd: Forwarded, request: Request
) -> Response:
    """Awaits the call while a watcher cancels it if the client goes away (core then stops the upstream
    request and records 499); the answer to a client that is gone is never sent."""
    hooks: list[Callable[[], object]] | None = request.scope.get(ON_DISCONNECT)
    watcher = None
    if hooks is not None:
        hooks.append(call.cancel)
    else:
        watcher = asyncio.ensure_future(cancel_on_disconnect(request.receive, call, _nothing))
    try:
        response = await call
    except grpc.aio.AioRpcError as exc:
        return error_response(from_rpc_error(exc), fwd.request_id)
    except asyncio.CancelledError:
        # Awaiting a call that was cancelled raises CancelledError: the client went away. Our own task being
        # cancelled (shutdown) propagates.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        log.info("client went away; request id %s cancelled", fwd.request_id)
        return error_response(cancelled(), fwd.request_id)
    finally:
        if watcher is not None:
            watcher.cancel()
    try:
        body = render(response)
    except CodecError as exc:
        log.error("core sent a response that cannot be rendered (request id %s): %s", fwd.request_id, exc.message)
        return error_response(server_error(), fwd.request_id)
    return json_response(body, headers=await response_headers(call, fwd.request_id))


async def stream(call: StreamCall, render: Render, fwd: Forwarded, settings: FacadeSettings) -> Response:
    try:
        start = await start_stream(call, settings.stream_keepalive_seconds)
    except grpc.aio.AioRpcError as exc:
        return error_response(from_rpc_error(exc), fwd.request_id)
    return SSEResponse(
        call,
        start,
        render,
        keepalive_seconds=settings.stream_keepalive_seconds,
        headers=await response_headers(call, fwd.request_id),
    )


def _nothing() -> None:
    pass


Handler = Callable[[Request], Awaitable[Response]]


class Endpoint:
    """A route's handler as the route's ASGI app. Starlette wraps a plain function endpoint in
    `request_response`, whose extra exception layer serves HTTPExceptions raised inside a route; ours raise
    none, and the app's exception handlers (outside the router) still answer every error. That layer is ~4 %
    of the façade's instructions per request."""

    __slots__ = ("_handler",)

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._handler(Request(scope, receive, send))
        await response(scope, receive, send)


def endpoint_routes(path: str, handler: Handler, method: str) -> list[Route]:
    """The endpoint at /v1/... and without the prefix."""
    return [Route(p, Endpoint(handler), methods=[method], name=handler.__name__) for p in (f"/v1{path}", path)]
