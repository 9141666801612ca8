"""gRPC server stream of bytes -> HTTP body, relayed as it arrives (speech audio, relayed event streams).

Core's first message names the content type (the upstream's); the headers are committed when it arrives, so a
failure before it is an ordinary HTTP error. Each later message's bytes are one write, at once: nothing is
buffered whole. An error after the headers: for an event stream one in-band `data: {"error": ...}` event (the
SDK raises it), for audio the connection is closed without the body's end, so the client sees a truncated download
rather than a short file presented as complete. A client that goes away cancels the call (core stops the
upstream and records the usage so far)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import grpc
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .errors import from_rpc_error
from .streaming import cancel_on_disconnect, error_event

log = logging.getLogger("aqueduct.facade.streaming")

StreamCall = grpc.aio.UnaryStreamCall[Any, Any] | grpc.aio.StreamStreamCall[Any, Any]
_EVENT_STREAM = "text/event-stream"


async def first_message(call: StreamCall) -> Any:
    """Waits for the first message (the content type). Raises grpc.aio.AioRpcError when the call failed before
    it; cancels the call if this task is cancelled."""
    try:
        message = await call.read()
    except BaseException:
        call.cancel()
        raise
    if message is grpc.aio.EOF:
        raise grpc.aio.AioRpcError(
            grpc.StatusCode.INTERNAL, grpc.aio.Metadata(), grpc.aio.Metadata(), "stream ended before its start"
        )
    return message


class ByteStreamResponse(Response):
    """Relays `call`'s `data` bytes after `first` (the message that named the content type)."""

    def __init__(self, call: StreamCall, first: Any, headers: Mapping[str, str]) -> None:
        content_type = first.content_type or "application/octet-stream"
        extra = (
            {"cache-control": "no-cache", "x-accel-buffering": "no"} if content_type.startswith(_EVENT_STREAM) else {}
        )
        super().__init__(status_code=200, headers={**headers, **extra, "content-type": content_type})
        # Response adds content-length: 0 for an empty body; a relayed body has none (chunked transfer).
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self._call = call
        self._first = first
        self._events = content_type.startswith(_EVENT_STREAM)
        self._disconnected = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.ensure_future(
            cancel_on_disconnect(receive, self._call, lambda: setattr(self, "_disconnected", True))
        )
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            if self._first.data:
                await send({"type": "http.response.body", "body": self._first.data, "more_body": True})
            # read(), not `async for`: grpc.aio refuses to mix the two on one call, and the first was a read().
            message: Any
            while (message := await self._call.read()) is not grpc.aio.EOF:
                if message.data:
                    await send({"type": "http.response.body", "body": message.data, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except grpc.aio.AioRpcError as exc:
            if self._disconnected:
                return
            error = from_rpc_error(exc)
            if not self._events:
                # Returning without the body's end makes the server close the connection: HTTP's way of telling
                # the client the download is incomplete.
                log.warning("relayed body broke off after the headers: %s", error.message)
                return
            await send({"type": "http.response.body", "body": error_event(error), "more_body": False})
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self._disconnected or (task is not None and task.cancelling()):
                raise
        finally:
            watcher.cancel()
            self._call.cancel()
