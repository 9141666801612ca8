"""The façade's app factory: OpenAI JSON in, gRPC to core out. No business logic, no database.

Every route goes through the app's one middleware pipeline (FastAPI's), so middleware added to the app applies
to all of them alike, and its exception handlers answer every error in OpenAI's shape: the router's 404/405, and
a 500 for an exception escaping a route (Starlette then re-raises it to the server, which logs the traceback).
Routes are plain Starlette routes reading the raw body: the codec validates the JSON (invalid JSON is its 400),
and a FastAPI path operation (pydantic parsing, dependency solving) would parse it a second time, ~40 µs per
request."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import grpc
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .core_client import CoreClient
from .errors import OpenAIError, error_response, server_error
from .forwarding import request_id_of
from .routes import RouteDeps, all_routes
from .settings import FacadeSettings

log = logging.getLogger("aqueduct.facade")

# FastAPI's built-in OpenTelemetry looks up the global providers on every request (~6 µs); the façade sets
# none up, so it stays off. Metrics come in as middleware of this same pipeline.
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(
    core_target: str,
    *,
    settings: FacadeSettings | None = None,
    stream_keepalive_seconds: float | None = None,
    core_channel: Callable[[], grpc.aio.Channel] | None = None,
) -> FastAPI:
    """The façade talking to core at `core_target` ("host:port"). `stream_keepalive_seconds`, when given,
    overrides the settings' value (the CLI passes it from the shared config). `core_channel`, when given,
    makes the channel to core instead of TCP to `core_target` (`aqueduct serve`'s in-process channel)."""
    settings = settings or FacadeSettings()
    if stream_keepalive_seconds is not None:
        settings = dataclasses.replace(settings, stream_keepalive_seconds=stream_keepalive_seconds)
    core = CoreClient(core_target, settings, core_channel)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await core.open()
        try:
            yield
        finally:
            await core.close()

    app = FastAPI(
        title="Aqueduct",
        lifespan=lifespan,
        routes=all_routes(RouteDeps(core, settings)),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry=_NO_TELEMETRY,
    )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(_http_error(request, exc), request_id_of(request, settings.max_request_id_length))

    async def unexpected_error(request: Request, exc: Exception) -> Response:
        # The client sees a generic message and the request id; the server logs the traceback.
        rid = request_id_of(request, settings.max_request_id_length)
        log.error("unhandled error on %s %s (request id %s): %r", request.method, request.url.path, rid, exc)
        return error_response(server_error(), rid)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
    return app


def _http_error(request: Request, exc: HTTPException) -> OpenAIError:
    """The router's 404 (unknown path) and 405 (wrong method), or another HTTPException, in OpenAI's shape."""
    if exc.status_code == 404:
        error = OpenAIError(
            404, f"Invalid URL ({request.method} {request.url.path}).", "invalid_request_error", code="unknown_url"
        )
    elif exc.status_code == 405:
        error = OpenAIError(
            405,
            f"Method {request.method} is not allowed for {request.url.path}.",
            "invalid_request_error",
            code="method_not_allowed",
        )
    else:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        error = OpenAIError(exc.status_code, str(exc.detail), kind)
    error.headers.update(exc.headers or {})
    return error
