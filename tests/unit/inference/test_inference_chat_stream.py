from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aqueduct.v1 import chat_pb2

from aqueduct_openai import chat_params_from_json
from core.errors import UpstreamError, UpstreamTimeout
from core.inference import ChatInference
from tests.unit.inference.inference_fakes import (
    FakeProvider,
    RecordingSink,
    ScriptedStream,
    Step,
    chat_chunk,
    make_caller,
    make_deps,
    usage_json,
)

Batches = list[list[chat_pb2.ChatCompletionChunk]]


def _params(**extra: Any) -> chat_pb2.ChatCompletionParams:
    return chat_params_from_json({"model": "chat-model", "messages": [{"role": "user", "content": "hello"}], **extra})


class Client:
    """Stands in for the servicer: records accept order and batches."""

    def __init__(self, block_emit: asyncio.Event | None = None) -> None:
        self.log: list[str] = []
        self.batches: Batches = []
        self.block_emit = block_emit
        self.first_batch = asyncio.Event()
        self._emitted = asyncio.Condition()

    async def accepted(self) -> None:
        self.log.append("accepted")

    async def emit(self, chunks: list[chat_pb2.ChatCompletionChunk]) -> None:
        self.log.append("emit")
        self.batches.append(chunks)
        self.first_batch.set()
        async with self._emitted:
            self._emitted.notify_all()
        if self.block_emit is not None:
            await self.block_emit.wait()

    async def wait_for(self, batches: int = 0, chunks: int = 0) -> None:
        async with self._emitted:
            await self._emitted.wait_for(lambda: len(self.batches) >= batches and len(self.chunks) >= chunks)

    @property
    def chunks(self) -> list[chat_pb2.ChatCompletionChunk]:
        return [c for batch in self.batches for c in batch]


async def _run(
    steps: list[Step], params: chat_pb2.ChatCompletionParams, *, max_chunks: int = 64, client: Client | None = None
) -> tuple[Client, RecordingSink, FakeProvider]:
    sink, client = RecordingSink(), client or Client()
    provider = FakeProvider(stream=ScriptedStream(steps))
    await ChatInference(make_deps(provider, sink, max_chunks)).stream(
        params, make_caller(), on_accepted=client.accepted, emit=client.emit
    )
    return client, sink, provider


async def test_upstream_always_asked_for_usage_but_client_without_it_never_sees_it() -> None:
    steps: list[Step] = [
        chat_chunk("Hel", with_null_usage=True),
        chat_chunk("lo", with_null_usage=True),
        chat_chunk(finish="stop", with_null_usage=True),
        chat_chunk(choices=False, usage=usage_json(9, 2)),
    ]
    client, sink, provider = await _run(steps, _params(user_id="end", stream_options={"extra": 1}))
    body = provider.last_body
    assert body["stream"] is True and body["stream_options"] == {"extra": 1, "include_usage": True}
    assert "user_id" not in body
    assert len(client.chunks) == 3
    assert not any(c.HasField("usage") for c in client.chunks)
    assert "usage" not in "".join(c.extra_json for c in client.chunks)
    assert client.log[0] == "accepted"
    event = sink.only
    assert (event.status, event.input_tokens, event.output_tokens, event.tokens_estimated) == (200, 9, 2, False)
    assert event.ttft_ms is not None and event.ttft_ms <= event.latency_ms
    assert provider.stream.closed


async def test_client_that_asked_gets_the_upstream_usage_chunk_unchanged() -> None:
    steps: list[Step] = [chat_chunk("Hi"), chat_chunk(finish="stop"), chat_chunk(choices=False, usage=usage_json(9, 1))]
    client, sink, _ = await _run(steps, _params(stream_options={"include_usage": True}))
    last = client.chunks[-1]
    assert last.usage.prompt_tokens == 9 and not last.usage.estimated and len(last.choices) == 0
    assert sink.only.tokens_estimated is False


async def test_usage_riding_on_a_content_chunk_is_removed_not_the_chunk() -> None:
    steps: list[Step] = [chat_chunk("Hi", usage=usage_json(3, 1)), chat_chunk(finish="stop", usage=usage_json(3, 1))]
    client, sink, _ = await _run(steps, _params())
    assert len(client.chunks) == 2 and not any(c.HasField("usage") for c in client.chunks)
    assert sink.only.output_tokens == 1


async def test_no_upstream_usage_is_estimated_and_flagged_for_client_and_event() -> None:
    steps: list[Step] = [chat_chunk("abcdefgh"), chat_chunk("ijkl"), chat_chunk(finish="stop")]
    client, sink, _ = await _run(steps, _params(stream_options={"include_usage": True}))
    tail = client.chunks[-1]
    assert tail.usage.estimated and len(tail.choices) == 0
    assert tail.usage.completion_tokens == 3  # 12 chars
    assert tail.id == "chatcmpl-1" and tail.model == "upstream-chat"
    event = sink.only
    assert event.tokens_estimated and event.output_tokens == 3 and event.input_tokens == tail.usage.prompt_tokens
    # Without include_usage the estimate is recorded but nothing is added to the stream.
    client, sink, _ = await _run(steps, _params())
    assert len(client.chunks) == 3 and sink.only.tokens_estimated


async def test_chunks_already_received_are_coalesced_into_one_message() -> None:
    gate = asyncio.Event()
    steps: list[Step] = [*(chat_chunk(f"t{i}") for i in range(10)), gate, chat_chunk(finish="stop")]
    client = Client()
    task = asyncio.create_task(_run(steps, _params(), client=client))
    await client.wait_for(batches=2)
    gate.set()
    await task
    # The first chunk goes out alone, at once (time to first byte); what arrived behind it is coalesced.
    assert [len(b) for b in client.batches] == [1, 9, 1]


async def test_events_the_client_does_not_see_do_not_count_as_the_first_chunk() -> None:
    # A usage-only event the client did not ask for is skipped; the first visible chunk still goes out alone.
    steps: list[Step] = [chat_chunk(choices=False, usage=usage_json(4, 0)), chat_chunk("a"), chat_chunk("b")]
    client, sink, _ = await _run(steps, _params())
    assert [len(b) for b in client.batches] == [1, 1]
    assert sink.only.input_tokens == 4


async def test_a_stream_with_nothing_visible_sends_only_the_estimated_usage() -> None:
    client, sink, _ = await _run([], _params(stream_options={"include_usage": True}))
    assert [len(b) for b in client.batches] == [1] and client.chunks[0].usage.estimated
    client, sink, _ = await _run([], _params())
    assert client.batches == [] and sink.only.status == 200


async def test_coalescing_respects_the_per_message_bound() -> None:
    steps: list[Step] = [chat_chunk(f"t{i}") for i in range(10)]
    client, _, _ = await _run(steps, _params(), max_chunks=4)
    assert [len(b) for b in client.batches] == [1, 4, 4, 1]


async def test_client_cancel_mid_stream_stops_upstream_and_records_499_with_tokens_so_far() -> None:
    never = asyncio.Event()
    steps: list[Step] = [chat_chunk("abcd"), chat_chunk("efgh"), never, chat_chunk("unreached")]
    sink, client = RecordingSink(), Client()
    provider = FakeProvider(stream=ScriptedStream(steps))
    task = asyncio.create_task(
        ChatInference(make_deps(provider, sink)).stream(
            _params(), make_caller(), on_accepted=client.accepted, emit=client.emit
        )
    )
    await client.wait_for(chunks=2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert provider.stream.closed and provider.stream.yielded == 2
    event = sink.only
    assert (event.status, event.output_tokens, event.tokens_estimated) == (499, 2, True)
    assert event.input_tokens > 0


async def test_cancel_while_the_client_write_is_blocked_also_records_499() -> None:
    sink, client = RecordingSink(), Client(block_emit=asyncio.Event())
    provider = FakeProvider(stream=ScriptedStream([chat_chunk("a"), chat_chunk(finish="stop")]))
    task = asyncio.create_task(
        ChatInference(make_deps(provider, sink)).stream(
            _params(), make_caller(), on_accepted=client.accepted, emit=client.emit
        )
    )
    await client.first_batch.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert provider.stream.closed and sink.only.status == 499


async def test_error_after_first_chunk_sends_earlier_chunks_then_raises() -> None:
    steps: list[Step] = [chat_chunk("a"), chat_chunk("b"), UpstreamError("mid-stream", upstream_status=500)]
    sink, client = RecordingSink(), Client()
    provider = FakeProvider(stream=ScriptedStream(steps))
    with pytest.raises(UpstreamError):
        await ChatInference(make_deps(provider, sink)).stream(
            _params(), make_caller(), on_accepted=client.accepted, emit=client.emit
        )
    assert len(client.chunks) == 2
    assert (sink.only.status, sink.only.output_tokens) == (500, 1)
    assert provider.stream.closed


async def test_stall_timeout_mid_stream_records_504() -> None:
    steps: list[Step] = [chat_chunk("a"), UpstreamTimeout("stalled")]
    with pytest.raises(UpstreamTimeout):
        await _run(steps, _params())


async def test_failure_before_acceptance_never_accepts_and_records_status() -> None:
    sink, client = RecordingSink(), Client()
    provider = FakeProvider(error=UpstreamError("slow down", upstream_status=429))
    with pytest.raises(UpstreamError):
        await ChatInference(make_deps(provider, sink)).stream(
            _params(), make_caller(), on_accepted=client.accepted, emit=client.emit
        )
    assert client.log == []
    assert (sink.only.status, sink.only.input_tokens, sink.only.output_tokens) == (429, 0, 0)


async def test_malformed_upstream_chunk_is_a_502() -> None:
    bad = chat_chunk("a")
    bad["choices"][0]["delta"]["role"] = 7
    with pytest.raises(UpstreamError) as info:
        await _run([bad], _params())
    assert info.value.upstream_status == 502
