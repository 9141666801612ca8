"""SSE formatting and the SSE response driven by a scripted gRPC call, without sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import grpc
import orjson
import pytest

from http_facade.errors import OpenAIError
from http_facade.streaming import (
    DONE_EVENT,
    KEEPALIVE_EVENT,
    SSEResponse,
    StreamStart,
    data_event,
    error_event,
    events,
    start_stream,
)


def test_event_formats() -> None:
    assert data_event({"a": 1}) == b'data: {"a":1}\n\n'
    assert events([{"a": 1}, {"b": "é"}]) == b'data: {"a":1}\n\ndata: {"b":"\xc3\xa9"}\n\n'
    assert events([]) == b""
    assert DONE_EVENT == b"data: [DONE]\n\n"
    assert KEEPALIVE_EVENT == b": keepalive\n\n"
    error = OpenAIError(502, "bad gateway", "server_error")
    assert orjson.loads(error_event(error).removeprefix(b"data: ")) == {
        "error": {"message": "bad gateway", "type": "server_error", "param": None, "code": None}
    }


class FakeCall:
    """Scripted stand-in for grpc.aio.UnaryStreamCall: items are messages, delays (float seconds) or errors."""

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.cancelled = False
        self._cancel = asyncio.Event()

    async def initial_metadata(self) -> tuple[()]:
        return ()

    async def read(self) -> Any:
        while self.script:
            item = self.script.pop(0)
            if isinstance(item, float):
                try:
                    await asyncio.wait_for(self._cancel.wait(), item)
                except TimeoutError:
                    continue
                # Like grpc.aio: a read in progress on a cancelled call raises CancelledError (without the
                # reading task itself being cancelled).
                raise asyncio.CancelledError
            if isinstance(item, BaseException):
                raise item
            return item
        return grpc.aio.EOF

    def cancel(self) -> bool:
        self.cancelled = True
        self._cancel.set()
        return True

    def done(self) -> bool:
        # The RPC ends with its last read here; FinishedCall ends before (grpc.aio can have ended while
        # messages still wait to be read).
        return self.cancelled or not self.script


class FinishedCall(FakeCall):
    """A call that has ended, every message already received, once no delay is left in its script."""

    def done(self) -> bool:
        return self.cancelled or not any(isinstance(item, float) for item in self.script)


def rpc_error(code: grpc.StatusCode, message: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=message)


def render(message: Any) -> Iterable[dict[str, Any]]:
    return [{"n": n} for n in message]


async def run(call: FakeCall, keepalive: float = 5.0, disconnect_after: float | None = None) -> list[dict[str, Any]]:
    start = await start_stream(call, keepalive)  # type: ignore[arg-type]
    response = SSEResponse(call, start, render, keepalive_seconds=keepalive)  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if disconnect_after is None:
            await asyncio.Event().wait()
        await asyncio.sleep(disconnect_after or 0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await response({"type": "http"}, receive, send)  # type: ignore[arg-type]
    return sent


def bodies(sent: list[dict[str, Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent[1:])


async def test_stream_of_messages_then_done() -> None:
    call = FakeCall([[1, 2], [3]])
    sent = await run(call)
    start = sent[0]
    assert start["status"] == 200
    headers = dict(start["headers"])
    assert headers[b"content-type"] == b"text/event-stream"
    assert headers[b"cache-control"] == b"no-cache" and headers[b"x-accel-buffering"] == b"no"
    assert b"content-length" not in headers
    assert sent[1]["body"] == b'data: {"n":1}\n\ndata: {"n":2}\n\n'  # one write per gRPC message
    assert bodies(sent).endswith(b'data: {"n":3}\n\n' + DONE_EVENT)
    assert sent[-1]["more_body"] is False


async def test_rest_of_a_finished_call_goes_out_with_done_in_one_write() -> None:
    sent = await run(FinishedCall([[1], 0.01, [2], [3]]))
    assert [m["body"] for m in sent[1:]] == [b'data: {"n":1}\n\n', b'data: {"n":2}\n\ndata: {"n":3}\n\n' + DONE_EVENT]
    assert sent[-1]["more_body"] is False


async def test_error_in_the_rest_of_a_finished_call_comes_after_the_chunks_before_it() -> None:
    call = FinishedCall([[1], [2], rpc_error(grpc.StatusCode.UNAVAILABLE, "every deployment failed")])
    sent = await run(call)
    assert sent[1]["body"] == b'data: {"n":1}\n\ndata: {"n":2}\n\n' and sent[1]["more_body"] is True
    assert b'"error"' in sent[2]["body"] and sent[2]["more_body"] is False and len(sent) == 3


async def test_empty_stream_is_just_done() -> None:
    assert bodies(await run(FakeCall([]))) == DONE_EVENT


async def test_error_after_first_chunk_is_one_in_band_event() -> None:
    call = FakeCall([[1], rpc_error(grpc.StatusCode.UNAVAILABLE, "every deployment failed")])
    body = bodies(await run(call))
    assert body.startswith(b'data: {"n":1}\n\n')
    assert body.endswith(b"\n\n") and DONE_EVENT not in body
    assert b'"error":{"message":"The service is temporarily unavailable. Please retry."' in body
    assert call.cancelled


async def test_error_before_first_chunk_raises_for_an_http_answer() -> None:
    call = FakeCall([rpc_error(grpc.StatusCode.NOT_FOUND, "no such model")])
    with pytest.raises(grpc.aio.AioRpcError):
        await start_stream(call, 1.0)  # type: ignore[arg-type]


class SlowMetadataCall(FakeCall):
    """Initial metadata comes late; the first read (started at once) may finish before it."""

    def __init__(self, script: list[Any], metadata_delay: float) -> None:
        super().__init__(script)
        self.metadata_delay = metadata_delay

    async def initial_metadata(self) -> tuple[()]:
        await asyncio.sleep(self.metadata_delay)
        return ()


async def test_first_message_before_the_metadata_is_still_the_first() -> None:
    start = await start_stream(SlowMetadataCall([[1], [2]], 0.05), 1.0)  # type: ignore[arg-type]
    assert start.first == [1] and start.pending is None


async def test_error_before_the_metadata_raises_for_an_http_answer() -> None:
    call = SlowMetadataCall([rpc_error(grpc.StatusCode.NOT_FOUND, "no such model")], 0.05)
    with pytest.raises(grpc.aio.AioRpcError):
        await start_stream(call, 1.0)  # type: ignore[arg-type]
    assert call.cancelled


async def test_cancelled_while_waiting_for_the_first_message_cancels_the_call() -> None:
    call = FakeCall([5.0, [1]])
    task = asyncio.ensure_future(start_stream(call, 10.0))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert call.cancelled


async def test_slow_first_chunk_commits_headers_and_keeps_alive() -> None:
    call = FakeCall([0.25, [1]])
    start = await start_stream(call, 0.1)  # type: ignore[arg-type]
    assert start.pending is not None
    start.pending.cancel()
    sent = await run(FakeCall([0.25, [1]]), keepalive=0.1)
    body = bodies(sent)
    assert body.startswith(KEEPALIVE_EVENT)
    assert body.endswith(b'data: {"n":1}\n\n' + DONE_EVENT)


async def test_disconnect_cancels_the_call() -> None:
    call = FakeCall([[1], 5.0, [2]])
    sent = await asyncio.wait_for(run(call, disconnect_after=0.05), timeout=2)
    assert call.cancelled
    assert b'"n":2' not in bodies(sent)


def test_stream_start_defaults() -> None:
    assert StreamStart().pending is None
