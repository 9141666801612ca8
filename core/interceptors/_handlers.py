"""Re-wrapping a method handler's behavior, shared by the server interceptors.

grpc.aio interceptors only see the continuation; wrapping the behavior instead runs our code inside the RPC's
own task, so ContextVars set there (the principal) are visible to the servicer and errors raised by it pass
through the wrapper."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import grpc

Context = grpc.aio.ServicerContext[Any, Any]
UnaryBehavior = Callable[[Any, Context], Awaitable[Any]]
StreamBehavior = Callable[[Any, Context], AsyncIterator[Any]]
Handler = grpc.RpcMethodHandler[Any, Any]


def wrap_behaviors(
    handler: Handler,
    *,
    unary: Callable[[UnaryBehavior], UnaryBehavior],
    stream: Callable[[StreamBehavior], StreamBehavior],
) -> Handler:
    """A copy of `handler` whose unary-unary / unary-stream behavior is wrapped; other kinds pass as is."""
    replace = cast(Any, handler)._replace
    if handler.unary_unary is not None:
        return cast(Handler, replace(unary_unary=unary(cast(UnaryBehavior, handler.unary_unary))))
    if handler.unary_stream is not None and inspect.isasyncgenfunction(handler.unary_stream):
        return cast(Handler, replace(unary_stream=stream(cast(StreamBehavior, handler.unary_stream))))
    return handler
