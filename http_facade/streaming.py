"""gRPC server stream -> Server-Sent Events (DESIGN.md §5).

Each chunk of each gRPC message becomes one `data: <json>` event (a message's events go out in one write),
then `data: [DONE]`. Headers are committed only once core has sent its initial metadata (the upstream
accepted the request) and the first message arrived or `stream_keepalive_seconds` passed, so failures before
the first chunk are ordinary HTTP errors: a trailers-only error can land just after the (empty) initial
metadata, and waiting for the first read is what catches it. After that an error is one in-band
`data: {"error": ...}` event, then the stream closes. Silence gets `: keepalive` comments. A client
disconnect cancels the gRPC call at once (a watcher listens for http.disconnect), so core stops the upstream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from aqueduct_openai import CodecError, dumps

from .errors import OpenAIError, from_rpc_error, server_error

log = logging.getLogger("aqueduct.facade.streaming")

DONE_EVENT = b"data: [DONE]\n\n"
KEEPALIVE_EVENT = b": keepalive\n\n"
SSE_HEADERS = {"content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no"}

Render = Callable[[Any], Iterable[Mapping[str, Any]]]
StreamCall = grpc.aio.UnaryStreamCall[Any, Any]


def data_event(payload: Any) -> bytes:
    return b"data: " + dumps(payload) + b"\n\n"


def events(objects: Iterable[Any]) -> bytes:
    """One gRPC message's chunks as consecutive events, for a single write."""
    return b"".join(b"data: " + dumps(obj) + b"\n\n" for obj in objects)


def error_event(error: OpenAIError) -> bytes:
    return data_event(error.body())


@dataclass(slots=True)
class StreamStart:
    """How the stream began: the first message (or grpc.aio.EOF) if it came in time, else the pending read."""

    first: Any = None
    pending: asyncio.Future[Any] | None = None


async def start_stream(call: StreamCall, first_chunk_wait_seconds: float) -> StreamStart:
    """Waits for initial metadata and (briefly) the first message. Raises grpc.aio.AioRpcError when the call
    failed before its first message; the caller answers with a normal HTTP error. Cancels the call if it is
    itself cancelled.

    The first read starts at once, before the metadata arrived, and hands its message over through a plain
    future: each extra event-loop turn between core's first message and this task is a turn in which core
    runs ahead on the rest of the stream, and the client's first byte waits for it."""
    loop = asyncio.get_running_loop()
    first: asyncio.Future[Any] = loop.create_future()
    read = asyncio.ensure_future(_read_first(call, first))
    try:
        await call.initial_metadata()
        timer = loop.call_later(first_chunk_wait_seconds, _expire, first)
        try:
            message = await first
        finally:
            timer.cancel()
    except BaseException:
        call.cancel()
        if first.done() and not first.cancelled():
            first.exception()  # retrieved: the error that matters is the one propagating
        raise
    if message is _WAITED:
        return StreamStart(pending=read)
    return StreamStart(first=message)


class _Waited:
    """The first message did not come within the wait: the read stays pending."""


_WAITED = _Waited()


def _expire(first: asyncio.Future[Any]) -> None:
    if not first.done():
        first.set_result(_WAITED)


async def _read_first(call: StreamCall, first: asyncio.Future[Any]) -> Any:
    """Reads the first message and hands it to `first` directly: waiting on this task instead (asyncio.wait,
    shield) costs two more event-loop turns, during which core runs ahead on the rest of the stream and the
    first byte waits for it. Once the wait expired, the result or error is this task's own (the pending read)."""
    try:
        message = await call.read()
    except BaseException as exc:
        if first.done():
            raise
        if isinstance(exc, asyncio.CancelledError):
            first.cancel()
            raise
        first.set_exception(exc)
        return None
    if not first.done():
        first.set_result(message)
    return message


class SSEResponse(Response):
    """Streams `call` as SSE. `render` turns one gRPC message into the JSON objects of its events."""

    def __init__(
        self,
        call: StreamCall,
        start: StreamStart,
        render: Render,
        *,
        keepalive_seconds: float,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=200, headers={**SSE_HEADERS, **(headers or {})})
        # Response adds content-length: 0 for an empty body; a stream has none (chunked transfer).
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self._call = call
        self._start = start
        self._render = render
        self._keepalive = keepalive_seconds
        self._disconnected = False
        self._last_write = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Two helper tasks per stream, none per message: the disconnect watcher and the keepalive timer. The
        # main task awaits the call's reads directly, so a chunk costs one read, one render and one write.
        loop = asyncio.get_running_loop()
        self._last_write = loop.time()
        watcher = asyncio.ensure_future(self._watch_disconnect(receive))
        keepalive: asyncio.Future[None] | None = None
        pending = self._start.pending
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            keepalive = asyncio.ensure_future(self._keep_alive(send))
            message = self._start.first if pending is None else await pending
            body = b""
            while message is not grpc.aio.EOF:
                body = events(self._render(message))
                if self._call.done():
                    break
                self._last_write = loop.time()
                await send({"type": "http.response.body", "body": body, "more_body": True})
                body = b""
                message = await self._call.read()
            if message is not grpc.aio.EOF:
                # Core has finished, so the rest is already here: it goes out with [DONE] in one write (each
                # write is a syscall and a TCP segment), or, if the rest fails, before the error event.
                rest, failure = await self._read_rest()
                body += rest
                if failure is not None:
                    self._last_write = loop.time()
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    raise failure
            keepalive.cancel()
            await send({"type": "http.response.body", "body": body + DONE_EVENT, "more_body": False})
        except grpc.aio.AioRpcError as exc:
            await self._fail(send, from_rpc_error(exc), keepalive)
        except CodecError as exc:
            log.error("core sent a chunk that cannot be rendered: %s", exc.message)
            await self._fail(send, server_error(), keepalive)
        except asyncio.CancelledError:
            # Reading a call we cancelled (client went away) raises CancelledError; that ends the response
            # quietly. Our own task being cancelled (shutdown) propagates.
            task = asyncio.current_task()
            if not self._disconnected or (task is not None and task.cancelling()):
                raise
        finally:
            watcher.cancel()
            if keepalive is not None:
                keepalive.cancel()
            if pending is not None:
                pending.cancel()
            self._call.cancel()

    async def _read_rest(self) -> tuple[bytes, grpc.aio.AioRpcError | CodecError | None]:
        """The events of the messages still to be read (of a finished call), and the error that ended them."""
        parts: list[bytes] = []
        try:
            while (message := await self._call.read()) is not grpc.aio.EOF:
                parts.append(events(self._render(message)))
        except (grpc.aio.AioRpcError, CodecError) as exc:
            return b"".join(parts), exc
        return b"".join(parts), None

    async def _keep_alive(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        while True:
            delay = self._last_write + self._keepalive - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            self._last_write = loop.time()
            # A whole event per send: ASGI writes each send at once, so it never splits a data event.
            await send({"type": "http.response.body", "body": KEEPALIVE_EVENT, "more_body": True})

    async def _fail(self, send: Send, error: OpenAIError, keepalive: asyncio.Future[None] | None) -> None:
        if keepalive is not None:
            keepalive.cancel()
        if self._disconnected:
            return
        await send({"type": "http.response.body", "body": error_event(error), "more_body": False})

    async def _watch_disconnect(self, receive: Receive) -> None:
        await cancel_on_disconnect(receive, self._call, lambda: setattr(self, "_disconnected", True))


async def cancel_on_disconnect(receive: Receive, call: grpc.aio.Call, on_disconnect: Callable[[], object]) -> None:
    """Cancels `call` when the HTTP client goes away (after `on_disconnect()`), so core stops the upstream
    request and records it as 499. For a unary call as for a stream: the body has been read, so the next ASGI
    message is the disconnect."""
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            on_disconnect()
            call.cancel()
            return
