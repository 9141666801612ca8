"""An in-process grpc.aio channel: the gRPC contract without the network.

`aqueduct serve` runs core and façade in one process; over TCP loopback every RPC is serialized, framed by HTTP/2,
polled by gRPC's C core and deserialized twice. LocalChannel implements the part of grpc.aio.Channel the generated
stubs use (unary_unary, unary_stream, and stream_unary fed by an async iterable) by calling the very method
handlers registered on core's server, through the same server interceptors (errors, auth, ...), each RPC in its own
task as grpc.aio does (so ContextVars set by interceptors stay inside the RPC). Proto messages are handed over
without serialization by default: the façade builds a fresh request per call and only reads responses, and core
builds fresh responses. `copy_messages=True` round-trips every message through its serializers instead, byte-for-
byte what the network would deliver.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import grpc

from .handler_table import Handler, HandlerTable, LocalCallDetails
from .local_calls import LocalStreamUnaryCall, LocalUnaryStreamCall, LocalUnaryUnaryCall
from .local_context import CANCELLED_DETAILS, LocalRpc, LocalServicerContext, as_pairs

log = logging.getLogger("aqueduct.core.transport")

Serializer = Callable[[Any], bytes] | None
Deserializer = Callable[[bytes], Any] | None
Resolve = Callable[[LocalCallDetails], Awaitable[Handler | None]]

METHOD_NOT_FOUND = "Method not found!"


@dataclass(frozen=True, slots=True)
class LocalChannelSettings:
    # Messages a server stream may run ahead of its reader before context.write() waits (the backpressure
    # gRPC's flow control gives over the network). Core coalesces upstream chunks per message, so a few suffice.
    max_pending_stream_messages: int = 16
    # Serialize and parse every message as the network would (a safety switch; costs ~the codec's time).
    copy_messages: bool = False
    # What context.peer() answers for in-process calls.
    peer: str = "local:in-process"


def _chain(table: HandlerTable, interceptors: Sequence[grpc.aio.ServerInterceptor]) -> Resolve:
    """The interceptors' intercept_service calls nested as grpc.aio nests them: the first is outermost."""

    async def lookup(details: LocalCallDetails) -> Handler | None:
        return table.lookup(details)

    resolve: Resolve = lookup
    for interceptor in reversed(interceptors):
        resolve = functools.partial(interceptor.intercept_service, resolve)  # type: ignore[arg-type]
    return resolve


class LocalChannel(grpc.aio.Channel):
    def __init__(
        self,
        table: HandlerTable,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        settings: LocalChannelSettings | None = None,
    ) -> None:
        self._settings = settings or LocalChannelSettings()
        self._resolve = _chain(table, interceptors)
        # RPC tasks start from the context the channel was created in (grpc.aio's server tasks start from the
        # server's), never from the caller's, so nothing the façade sets leaks into core and back.
        self._context = contextvars.copy_context()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    # --- RPC execution ----------------------------------------------------------------------------------
    def _start(
        self,
        method: str,
        request: Any,
        timeout: float | None,
        metadata: Any,
        serve: Callable[[LocalRpc, Any], Coroutine[Any, Any, Any]],
    ) -> tuple[LocalRpc, asyncio.Task[Any]]:
        if self._closed:
            raise grpc.aio.UsageError("Cannot invoke RPC: Channel closed!")
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        settings = self._settings
        rpc = LocalRpc(method, as_pairs(metadata), deadline, settings.max_pending_stream_messages, settings.peer)
        task: asyncio.Task[Any] = loop.create_task(serve(rpc, request), context=self._context.copy())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return rpc, task

    async def _handler(self, rpc: LocalRpc) -> Handler | None:
        handler = await self._resolve(LocalCallDetails(rpc.method, rpc.metadata))
        if handler is None:
            rpc.finish(grpc.StatusCode.UNIMPLEMENTED, METHOD_NOT_FOUND)
        return handler

    def _fail(self, rpc: LocalRpc, exc: BaseException) -> None:
        if isinstance(exc, grpc.aio.AbortError):
            rpc.finish(rpc.code or grpc.StatusCode.UNKNOWN, rpc.details)
            return
        # What grpc.aio's server does with an exception that escapes the handler.
        log.error("unexpected error in handler of %s", rpc.method, exc_info=exc)
        rpc.finish(grpc.StatusCode.UNKNOWN, f"Unexpected {type(exc)}: {exc}")

    def _cancelled(self, rpc: LocalRpc) -> None:
        # The caller's cancel() and our deadline finished the RPC already; otherwise the channel is closing.
        if not rpc.finished:
            rpc.cancelled = True
            rpc.finish(grpc.StatusCode.CANCELLED, CANCELLED_DETAILS)

    def _succeed(self, rpc: LocalRpc) -> None:
        rpc.finish(rpc.code or grpc.StatusCode.OK, rpc.details)

    async def _serve_unary(self, rpc: LocalRpc, request: Any, codec: tuple[Serializer, Deserializer]) -> Any:
        response = None
        try:
            handler = await self._handler(rpc)
            if handler is None or handler.unary_unary is None:
                rpc.finish(grpc.StatusCode.UNIMPLEMENTED, METHOD_NOT_FOUND)
                return None
            if self._settings.copy_messages:
                request = _copy(request, codec[0], handler.request_deserializer)
            result = handler.unary_unary(request, cast(Any, LocalServicerContext(rpc)))
            response = await result if inspect.isawaitable(result) else result
            if self._settings.copy_messages:
                response = _copy(response, handler.response_serializer, codec[1])
        except asyncio.CancelledError:
            self._cancelled(rpc)
            raise
        except Exception as exc:
            self._fail(rpc, exc)
            return None
        self._succeed(rpc)
        return response

    async def _serve_stream(self, rpc: LocalRpc, request: Any, codec: tuple[Serializer, Deserializer]) -> None:
        try:
            handler = await self._handler(rpc)
            if handler is None or handler.unary_stream is None:
                rpc.finish(grpc.StatusCode.UNIMPLEMENTED, METHOD_NOT_FOUND)
                return
            copy_out = None
            if self._settings.copy_messages:
                request = _copy(request, codec[0], handler.request_deserializer)
                copy_out = functools.partial(_copy, serialize=handler.response_serializer, deserialize=codec[1])
            context = LocalServicerContext(rpc, copy_out)
            result: Any = handler.unary_stream(request, cast(Any, context))
            if hasattr(result, "__aiter__"):
                async for message in result:
                    await context.write(message)
            elif inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            self._cancelled(rpc)
            raise
        except Exception as exc:
            self._fail(rpc, exc)
            return
        self._succeed(rpc)

    async def _serve_client_stream(self, rpc: LocalRpc, requests: Any, codec: tuple[Serializer, Deserializer]) -> Any:
        """A client-streamed call (uploads): the handler reads the caller's async iterator of requests."""
        response = None
        try:
            handler = await self._handler(rpc)
            if handler is None or handler.stream_unary is None:
                rpc.finish(grpc.StatusCode.UNIMPLEMENTED, METHOD_NOT_FOUND)
                return None
            if self._settings.copy_messages:
                requests = _copy_each(requests, codec[0], handler.request_deserializer)
            result = handler.stream_unary(requests, cast(Any, LocalServicerContext(rpc)))
            response = await result if inspect.isawaitable(result) else result
            if self._settings.copy_messages:
                response = _copy(response, handler.response_serializer, codec[1])
        except asyncio.CancelledError:
            self._cancelled(rpc)
            raise
        except Exception as exc:
            self._fail(rpc, exc)
            return None
        self._succeed(rpc)
        return response

    # --- grpc.aio.Channel -------------------------------------------------------------------------------
    def unary_unary(
        self,
        method: str,
        request_serializer: Serializer = None,
        response_deserializer: Deserializer = None,
        _registered_method: bool | None = False,
    ) -> LocalUnaryUnaryMultiCallable:
        return LocalUnaryUnaryMultiCallable(self, method, (request_serializer, response_deserializer))

    def unary_stream(
        self,
        method: str,
        request_serializer: Serializer = None,
        response_deserializer: Deserializer = None,
        _registered_method: bool | None = False,
    ) -> LocalUnaryStreamMultiCallable:
        return LocalUnaryStreamMultiCallable(self, method, (request_serializer, response_deserializer))

    def stream_unary(
        self,
        method: str,
        request_serializer: Serializer = None,
        response_deserializer: Deserializer = None,
        _registered_method: bool | None = False,
    ) -> LocalStreamUnaryMultiCallable:
        return LocalStreamUnaryMultiCallable(self, method, (request_serializer, response_deserializer))

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the in-process transport carries no bidirectional streams")

    async def close(self, grace: float | None = None) -> None:
        """Cancels RPCs still running (after `grace` seconds, if given) and refuses new ones."""
        self._closed = True
        pending = list(self._tasks)
        if grace and pending:
            await asyncio.wait(pending, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def __aenter__(self) -> LocalChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return grpc.ChannelConnectivity.SHUTDOWN if self._closed else grpc.ChannelConnectivity.READY

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        raise NotImplementedError("an in-process channel never changes state until closed")

    async def channel_ready(self) -> None:
        return None


def _copy(message: Any, serialize: Serializer, deserialize: Deserializer) -> Any:
    if serialize is None or deserialize is None:
        return message
    return deserialize(serialize(message))


async def _copy_each(
    messages: AsyncIterable[Any], serialize: Serializer, deserialize: Deserializer
) -> AsyncIterator[Any]:
    async for message in messages:
        yield _copy(message, serialize, deserialize)


class LocalUnaryUnaryMultiCallable(grpc.aio.UnaryUnaryMultiCallable[Any, Any]):
    def __init__(self, channel: LocalChannel, method: str, codec: tuple[Serializer, Deserializer]) -> None:
        self._channel = channel
        self._method = method
        self._codec = codec

    def __call__(
        self,
        request: Any,
        *,
        timeout: float | None = None,
        metadata: grpc.aio.Metadata | Sequence[tuple[str, str | bytes]] | None = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> LocalUnaryUnaryCall:
        channel, codec = self._channel, self._codec
        rpc, task = channel._start(
            self._method, request, timeout, metadata, lambda r, q: channel._serve_unary(r, q, codec)
        )
        return LocalUnaryUnaryCall(rpc, task)


class LocalUnaryStreamMultiCallable(grpc.aio.UnaryStreamMultiCallable[Any, Any]):
    def __init__(self, channel: LocalChannel, method: str, codec: tuple[Serializer, Deserializer]) -> None:
        self._channel = channel
        self._method = method
        self._codec = codec

    def __call__(
        self,
        request: Any,
        *,
        timeout: float | None = None,
        metadata: grpc.aio.Metadata | Sequence[tuple[str, str | bytes]] | None = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> LocalUnaryStreamCall:
        channel, codec = self._channel, self._codec
        rpc, task = channel._start(
            self._method, request, timeout, metadata, lambda r, q: channel._serve_stream(r, q, codec)
        )
        return LocalUnaryStreamCall(rpc, task)


class LocalStreamUnaryMultiCallable(grpc.aio.StreamUnaryMultiCallable[Any, Any]):
    """A client stream whose requests come from an async iterable (the only form the façade uses)."""

    def __init__(self, channel: LocalChannel, method: str, codec: tuple[Serializer, Deserializer]) -> None:
        self._channel = channel
        self._method = method
        self._codec = codec

    def __call__(
        self,
        request_iterator: AsyncIterator[Any] | Iterator[Any] | None = None,
        timeout: float | None = None,
        metadata: grpc.aio.Metadata | Sequence[tuple[str, str | bytes]] | None = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> LocalStreamUnaryCall:
        if request_iterator is None or not hasattr(request_iterator, "__aiter__"):
            raise grpc.aio.UsageError("the in-process transport takes client streams as async iterables")
        channel, codec = self._channel, self._codec
        rpc, task = channel._start(
            self._method, request_iterator, timeout, metadata, lambda r, q: channel._serve_client_stream(r, q, codec)
        )
        return LocalStreamUnaryCall(rpc, task)
