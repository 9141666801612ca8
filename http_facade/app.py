"""The façade's app factory: OpenAI JSON in, gRPC to core out. No business logic, no database.

Routes are plain Starlette routes reading the raw body (no pydantic request models: the codec validates), and
every error, including the framework's own 404/405/422, leaves in OpenAI's error shape."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from .core_client import CoreClient
from .errors import OpenAIError, error_response, invalid_request, server_error
from .forwarding import request_id_of
from .hot_paths import FacadeApp
from .routes import RouteDeps, all_routes
from .settings import FacadeSettings

log = logging.getLogger("aqueduct.facade")


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
        settings = FacadeSettings(
            stream_keepalive_seconds=stream_keepalive_seconds,
            health_check_timeout_seconds=settings.health_check_timeout_seconds,
            max_grpc_message_bytes=settings.max_grpc_message_bytes,
            max_request_id_length=settings.max_request_id_length,
        )
    core = CoreClient(core_target, settings, core_channel)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await core.open()
        try:
            yield
        finally:
            await core.close()

    app = FacadeApp(
        title="Aqueduct",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.core = core
    app.state.settings = settings
    app.router.routes.extend(all_routes(RouteDeps(core, settings)))
    app.install_hot_paths(_install_error_handlers(app, settings))
    return app


def _install_error_handlers(
    app: FastAPI, settings: FacadeSettings
) -> Callable[[Request, Exception], Awaitable[Response]]:
    """Installs the OpenAI-shaped handlers; returns the one for unexpected errors (the hot paths use it too)."""

    def request_id(request: Request) -> str:
        return request_id_of(request, settings.max_request_id_length)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
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
        return error_response(error, request_id(request))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        param = _validation_param(exc)
        message = f"Invalid value for '{param}'." if param else "The request is invalid."
        return error_response(invalid_request(message, param), request_id(request))

    async def unexpected_error(request: Request, exc: Exception) -> Response:
        # Logged with the traceback here; the client only ever sees a generic message and the request id.
        rid = request_id(request)
        log.error("unhandled error on %s %s (request id %s)", request.method, request.url.path, rid, exc_info=exc)
        return error_response(server_error(), rid)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
    return unexpected_error


def _validation_param(exc: RequestValidationError) -> str | None:
    errors: list[Any] = list(exc.errors())
    if not errors:
        return None
    location = [str(part) for part in errors[0].get("loc", ()) if part not in ("body", "query", "path")]
    return ".".join(location) or None
