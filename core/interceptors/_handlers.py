"""Re-wrapping a method handler's behavior, shared by the server interceptors.

grpc.aio interceptors only see the continuation; wrapping the behavior instead runs our code inside the RPC's
own task, so ContextVars set there (the principal) are visible to the servicer and errors raised by it pass
through the wrapper."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import grpc

# grpc's classes are generic only in the type stubs, not at run time.
if TYPE_CHECKING:
    Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
else:
    Context = grpc.aio.ServicerContext
    Handler = grpc.RpcMethodHandler
UnaryBehavior: TypeAlias = Callable[[Any, Context], Awaitable[Any]]
StreamBehavior: TypeAlias = Callable[[Any, Context], AsyncIterator[Any]]


def _as_unary(behavior: Callable[..., Any]) -> UnaryBehavior:
    async def call(request: Any, context: Context) -> Any:
        result = behavior(request, context)
        return await result if inspect.isawaitable(result) else result

    return call


def _as_stream(behavior: Callable[..., Any]) -> StreamBehavior:
    """Every streaming behavior as an async generator: async generators, coroutines that stream with
    context.write() (they yield nothing here), and plain iterators."""

    async def call(request: Any, context: Context) -> AsyncIterator[Any]:
        result = behavior(request, context)
        if hasattr(result, "__aiter__"):
            async for item in result:
                yield item
        elif inspect.isawaitable(result):
            await result
        elif result is not None:
            for item in result:
                yield item

    return call


def wrap_behaviors(
    handler: Handler,
    *,
    unary: Callable[[UnaryBehavior], UnaryBehavior],
    stream: Callable[[StreamBehavior], StreamBehavior],
) -> Handler:
    """A copy of `handler` whose behavior is wrapped: `unary` for single-response methods, `stream` for
    streaming-response ones."""
    replace = cast(Any, handler)._replace
    if handler.unary_unary is not None:
        return cast(Handler, replace(unary_unary=unary(_as_unary(handler.unary_unary))))
    if handler.stream_unary is not None:
        return cast(Handler, replace(stream_unary=unary(_as_unary(handler.stream_unary))))
    if handler.unary_stream is not None:
        return cast(Handler, replace(unary_stream=stream(_as_stream(handler.unary_stream))))
    if handler.stream_stream is not None:
        return cast(Handler, replace(stream_stream=stream(_as_stream(handler.stream_stream))))
    return handler
