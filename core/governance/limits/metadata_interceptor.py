"""Sends the x-ratelimit-* headers of a unary RPC as initial metadata, so successful responses carry them
too (errors carry them in ErrorInfo metadata). Streams send them with the routing headers once the upstream
accepted (core.services._inference_call.accept_stream reads the same per-RPC slot). Unary servicers must
therefore not send initial metadata themselves (they use trailing metadata)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import grpc

from core.governance.limits.headers import response_metadata

Behavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def _wrap(behavior: Behavior) -> Behavior:
    async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        response = await behavior(request, context)
        metadata = response_metadata()
        if metadata:
            await context.send_initial_metadata(metadata)
        return response

    return unary


class RateLimitMetadataInterceptor(grpc.aio.ServerInterceptor):
    """Innermost interceptor: it runs inside the RPC's task, after authentication, around the servicer."""

    def __init__(self, method_prefixes: tuple[str, ...]) -> None:
        self._prefixes = method_prefixes

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method or ""
        if handler is None or handler.unary_unary is None or not method.startswith(self._prefixes):
            return handler
        behavior = cast(Behavior, handler.unary_unary)
        replaced: grpc.RpcMethodHandler[Any, Any] = cast(Any, handler)._replace(unary_unary=_wrap(behavior))
        return replaced
