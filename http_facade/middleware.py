"""The façade's own middleware: pure ASGI (no BaseHTTPMiddleware, whose task group and stream wrapping cost
more than an endpoint), so one pipeline serves every route at a small per-request cost."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response, server_error
from .forwarding import request_id_of

log = logging.getLogger("aqueduct.facade")


class UnexpectedErrors:
    """An exception escaping a route becomes a 500 in OpenAI's shape, logged once with the traceback and the
    request id. Installed innermost of the app's own middleware, so middleware added later (CORS, metrics)
    sees an ordinary response; Starlette's ServerErrorMiddleware (the `Exception` handler slot) would instead
    re-raise to the server, which logs the traceback again and drops the keep-alive connection."""

    def __init__(self, app: ASGIApp, max_request_id_length: int) -> None:
        self.app = app
        self._max_request_id_length = max_request_id_length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            if started:
                raise  # too late for an answer: the server ends the connection
            request = Request(scope)
            rid = request_id_of(request, self._max_request_id_length)
            log.error("unhandled error on %s %s (request id %s)", request.method, request.url.path, rid, exc_info=exc)
            await error_response(server_error(), rid)(scope, receive, send)
