"""LocalChannel against real handlers and core's errors interceptor: results, metadata, errors with rich status,
streams, cancellation, deadlines and ContextVar isolation, exactly as a grpc.aio caller sees them."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2

from core.errors import InvalidRequest
from core.interceptors.errors import ErrorsInterceptor
from core.transport import HandlerTable, LocalChannel, LocalChannelSettings
from tests.support.waiting import async_wait_until

SERVICE = "test.Echo"
Req = health_pb2.HealthCheckRequest
Resp = health_pb2.HealthCheckResponse
current: contextvars.ContextVar[str] = contextvars.ContextVar("current", default="unset")


class Recorder:
    def __init__(self) -> None:
        self.cancelled = asyncio.Event()
        self.started = asyncio.Event()
        self.writes = 0
        self.done_callbacks = 0
        self.seen_metadata: Any = None
        self.seen_context_value = ""
        self.sent: list[Resp] = []


def make_channel(rec: Recorder, **settings: Any) -> LocalChannel:
    async def unary(request: Req, context: grpc.aio.ServicerContext[Any, Any]) -> Resp:
        rec.seen_metadata = context.invocation_metadata()
        rec.seen_context_value = current.get()
        current.set("set-by-handler")
        context.add_done_callback(lambda _: setattr(rec, "done_callbacks", rec.done_callbacks + 1))  # type: ignore[arg-type]
        if request.service == "invalid":
            raise InvalidRequest("temperature must be <= 2", field="temperature")
        if request.service == "crash":
            raise RuntimeError("boom")
        if request.service == "slow":
            rec.started.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                rec.cancelled.set()
                raise
        await context.send_initial_metadata((("x-aqueduct-deployment", "d1"),))
        context.set_trailing_metadata((("x-trailer", "t"),))
        return Resp(status=Resp.SERVING)

    async def stream(request: Req, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Resp]:
        await context.send_initial_metadata((("x-aqueduct-model-group", "g"),))
        for _ in range(3):
            await context.write(Resp(status=Resp.SERVING))
        if request.service == "fail-late":
            raise InvalidRequest("bad chunk")
        if request.service == "endless":
            try:
                while True:
                    await context.write(Resp(status=Resp.SERVING))
                    rec.writes += 1
            except asyncio.CancelledError:
                rec.cancelled.set()
                raise
        if request.service == "change-after-send":
            # A handler that reuses a message after handing it over: the reader must see it as it was sent.
            written = Resp(status=Resp.SERVING)
            await context.write(written)
            rec.sent.append(written)
            written.status = Resp.SERVICE_UNKNOWN
            yielded = Resp(status=Resp.NOT_SERVING)
            rec.sent.append(yielded)
            yield yielded
            yielded.status = Resp.SERVICE_UNKNOWN
            return
        yield Resp(status=Resp.NOT_SERVING)

    table = HandlerTable()
    table.add_registered(
        SERVICE,
        {
            "Unary": grpc.unary_unary_rpc_method_handler(
                unary, request_deserializer=Req.FromString, response_serializer=Resp.SerializeToString
            ),
            "Stream": grpc.unary_stream_rpc_method_handler(
                stream, request_deserializer=Req.FromString, response_serializer=Resp.SerializeToString
            ),
        },
    )
    return LocalChannel(table, [ErrorsInterceptor()], LocalChannelSettings(**settings))


def unary_call(channel: LocalChannel) -> grpc.aio.UnaryUnaryMultiCallable[Req, Resp]:
    return channel.unary_unary(f"/{SERVICE}/Unary", Req.SerializeToString, Resp.FromString)


def stream_call(channel: LocalChannel) -> grpc.aio.UnaryStreamMultiCallable[Req, Resp]:
    return channel.unary_stream(f"/{SERVICE}/Stream", Req.SerializeToString, Resp.FromString)


@pytest.mark.parametrize("copy_messages", [False, True])
async def test_unary_result_and_metadata(copy_messages: bool) -> None:
    rec = Recorder()
    channel = make_channel(rec, copy_messages=copy_messages)
    call = unary_call(channel)(Req(service="ok"), metadata=(("x-request-id", "r1"),))
    assert (await call).status == Resp.SERVING
    assert list(await call.initial_metadata()) == [("x-aqueduct-deployment", "d1")]
    assert list(await call.trailing_metadata()) == [("x-trailer", "t")]
    assert await call.code() == grpc.StatusCode.OK
    assert rec.seen_metadata == (("x-request-id", "r1"),)
    await asyncio.sleep(0)
    assert rec.done_callbacks == 1
    await channel.close()


async def test_context_vars_do_not_cross_the_call() -> None:
    rec = Recorder()
    channel = make_channel(rec)
    current.set("set-by-caller")
    await unary_call(channel)(Req(service="ok"))
    assert rec.seen_context_value == "unset"
    assert current.get() == "set-by-caller"
    await channel.close()


async def test_domain_error_arrives_as_rich_status() -> None:
    channel = make_channel(Recorder())
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await unary_call(channel)(Req(service="invalid"))
    error = info.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "temperature must be <= 2"
    raw = dict(error.trailing_metadata())["grpc-status-details-bin"]
    assert isinstance(raw, bytes)
    status = status_pb2.Status.FromString(raw)
    reasons = []
    for packed in status.details:
        bad = error_details_pb2.BadRequest()
        if packed.Unpack(bad):
            reasons.append(bad.field_violations[0].field)
    assert reasons == ["temperature"]
    await channel.close()


async def test_unexpected_error_is_internal_without_details() -> None:
    channel = make_channel(Recorder())
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await unary_call(channel)(Req(service="crash"))
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "boom" not in (info.value.details() or "")
    await channel.close()


async def test_unknown_method_is_unimplemented() -> None:
    channel = make_channel(Recorder())
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await channel.unary_unary("/test.Echo/Nope")(Req())
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    await channel.close()


async def test_deadline_cancels_the_handler() -> None:
    rec = Recorder()
    channel = make_channel(rec)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await unary_call(channel)(Req(service="slow"), timeout=0.05)
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.wait_for(rec.cancelled.wait(), 1)
    await channel.close()


async def test_cancelling_the_awaiting_task_cancels_the_handler() -> None:
    rec = Recorder()
    channel = make_channel(rec)
    waiting = asyncio.ensure_future(unary_call(channel)(Req(service="slow")))
    await asyncio.wait_for(rec.started.wait(), 5)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.wait_for(rec.cancelled.wait(), 1)
    await channel.close()


async def test_stream_messages_then_eof() -> None:
    channel = make_channel(Recorder())
    call = stream_call(channel)(Req(service="ok"))
    assert list(await call.initial_metadata()) == [("x-aqueduct-model-group", "g")]
    statuses = [message.status async for message in call]
    assert statuses == [Resp.SERVING] * 3 + [Resp.NOT_SERVING]
    assert await call.code() == grpc.StatusCode.OK
    await channel.close()


async def test_copy_messages_copies_written_and_yielded_stream_messages() -> None:
    """Streaming servicers send with context.write(); with copy_messages every message the reader gets is a
    parsed copy of what was sent at that moment, as over the network, whether written or yielded."""
    rec = Recorder()
    channel = make_channel(rec, copy_messages=True)
    received = [message async for message in stream_call(channel)(Req(service="change-after-send"))]
    assert [m.status for m in received] == [Resp.SERVING] * 4 + [Resp.NOT_SERVING]
    assert len(rec.sent) == 2
    assert all(got is not sent for got in received for sent in rec.sent)
    await channel.close()


async def test_stream_error_after_messages_raises_on_read() -> None:
    channel = make_channel(Recorder())
    call = stream_call(channel)(Req(service="fail-late"))
    for _ in range(3):
        message = await call.read()
        assert isinstance(message, Resp) and message.status == Resp.SERVING
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call.read()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await channel.close()


async def test_stream_cancel_stops_the_handler_and_backpressure_bounds_it() -> None:
    rec = Recorder()
    channel = make_channel(rec, max_pending_stream_messages=4)
    call = stream_call(channel)(Req(service="endless"))
    await call.read()
    await async_wait_until(lambda: rec.writes >= 1, what="the endless writer to start")
    for _ in range(50):  # however long the writer runs, it blocks once 4 messages wait unread
        await asyncio.sleep(0)
    assert rec.writes <= 5
    assert call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call.read()
    await asyncio.wait_for(rec.cancelled.wait(), 1)
    assert call.cancelled() and call.done()
    await channel.close()


async def test_closed_channel_refuses_calls() -> None:
    channel = make_channel(Recorder())
    await channel.close()
    with pytest.raises(grpc.aio.UsageError):
        unary_call(channel)(Req())
