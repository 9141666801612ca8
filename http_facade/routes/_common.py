"""What every API route does: read the body once, map it with the codec, call core with the forwarded
metadata, and answer with the codec's JSON (or SSE) or the error table's answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from starlette.requests import Request
from starlette.responses import Response

from aqueduct_openai import CodecError, loads, stream_requested

from ..core_client import CoreClient
from ..errors import error_response, from_rpc_error, invalid_request, server_error
from ..forwarding import Forwarded, forwarded
from ..responses import json_response
from ..settings import FacadeSettings
from ..streaming import Render, SSEResponse, StreamCall, start_stream

log = logging.getLogger("aqueduct.facade")

# Which model group and deployment served the request. Core sends them as gRPC trailing metadata for unary
# calls and initial metadata for streams; the key strings are copied from core/services/_inference_call.py
# because the façade must not import core.
ROUTING_HEADERS = ("x-aqueduct-model-group", "x-aqueduct-deployment")
# OpenAI's rate-limit headers (x-ratelimit-limit-requests, ...): initial metadata for unary calls and streams.
RATE_LIMIT_PREFIX = "x-ratelimit-"

P = TypeVar("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RouteDeps:
    core: CoreClient
    settings: FacadeSettings

    def forward(self, request: Request, endpoint: str) -> Forwarded:
        return forwarded(request, endpoint, self.settings.max_request_id_length)


class BadRequest(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


async def parse_body(request: Request, from_json: Callable[[Any], P], fwd: Forwarded) -> tuple[P, bool]:
    """(params, stream flag); raises BadRequest carrying the 400 answer."""
    try:
        body = loads(await request.body())
        return from_json(body), stream_requested(body) if isinstance(body, dict) else False
    except CodecError as exc:
        raise BadRequest(error_response(invalid_request(exc.message, exc.field), fwd.request_id)) from None


async def unary(call: Awaitable[R], render: Callable[[R], Any], fwd: Forwarded) -> Response:
    try:
        response = await call
    except grpc.aio.AioRpcError as exc:
        return error_response(from_rpc_error(exc), fwd.request_id)
    try:
        body = render(response)
    except CodecError as exc:
        log.error("core sent a response that cannot be rendered (request id %s): %s", fwd.request_id, exc.message)
        return error_response(server_error(), fwd.request_id)
    headers = {
        "x-request-id": fwd.request_id,
        **await routing_headers(call, "initial_metadata"),
        **await routing_headers(call, "trailing_metadata"),
    }
    return json_response(body, headers=headers)


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
        headers={"x-request-id": fwd.request_id, **await routing_headers(call, "initial_metadata")},
    )


async def routing_headers(call: object, which: str) -> dict[str, str]:
    """The ROUTING_HEADERS and x-ratelimit-* pairs in the call's `which` metadata (already received)."""
    read = getattr(call, which, None)
    if read is None:
        return {}
    metadata = await read()
    return {
        k: v
        for k, v in metadata or ()
        if (k in ROUTING_HEADERS or k.startswith(RATE_LIMIT_PREFIX)) and isinstance(v, str)
    }


def both_paths(path: str) -> tuple[str, str]:
    """Each endpoint answers at /v1/... and without the prefix."""
    return f"/v1{path}", path
