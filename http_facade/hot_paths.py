"""The façade's ASGI entry: exact-path API routes go straight to their endpoint, everything else through
FastAPI.

Starlette's middleware stack, exception wrappers and router cost more per request than the endpoint itself
(py-spy: ~0.4 ms of a chat request). The hot routes (chat, completions, embeddings, models) are exact paths
whose endpoints already answer every error in OpenAI's shape, so they need none of it. Anything else -- an
unknown path (404), a wrong method (405), a path with parameters, lifespan -- takes the full FastAPI path, so
its answers are unchanged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


def exact_routes(routes: Iterable[Any]) -> dict[tuple[str, str], Endpoint]:
    """(path, method) -> endpoint for every plain Route without path parameters."""
    table: dict[tuple[str, str], Endpoint] = {}
    for route in routes:
        if not isinstance(route, Route) or "{" in route.path or route.methods is None:
            continue
        for method in route.methods:
            table[(route.path, method)] = route.endpoint
    return table


class FacadeApp(FastAPI):
    """FastAPI with a direct dispatch for exact-path routes (see the module doc). `install_hot_paths` is called
    once the routes are in place; `on_error` answers an exception that escapes an endpoint (500)."""

    _hot: dict[tuple[str, str], Endpoint]
    _on_error: ErrorHandler | None

    def install_hot_paths(self, on_error: ErrorHandler) -> None:
        self._hot = exact_routes(self.router.routes)
        self._on_error = on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = getattr(self, "_hot", None)
        if hot and scope["type"] == "http":
            endpoint = hot.get((scope["path"], scope["method"]))
            if endpoint is not None:
                scope["app"] = self
                request = Request(scope, receive, send)
                try:
                    response = await endpoint(request)
                except Exception as exc:
                    assert self._on_error is not None
                    response = await self._on_error(request, exc)
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
