"""Streams under faults: retried before the upstream accepted, never after the first byte; a stalled stream
ends with an error after the chunks already sent (usage recorded); a client disconnect stops the upstream at
once; and the same seen by an OpenAI SDK through the real HTTP façade (headers, in-band error)."""

from __future__ import annotations

import asyncio
import time

import grpc
import httpx2
import openai
import pytest
from aqueduct.v1 import chat_service_pb2

from tests.integration.resilience.resilience_harness import (
    Gateway,
    chat,
    deployment,
    facade,
    gateway,
    initial,
    settings_of,
)
from tests.support.fake_upstream import FakeUpstream
from tests.support.waiting import async_wait_until


def _stream(
    gw: Gateway, model: str, **extra: object
) -> grpc.aio.UnaryStreamCall[
    chat_service_pb2.StreamChatCompletionRequest, chat_service_pb2.StreamChatCompletionResponse
]:
    request = chat_service_pb2.StreamChatCompletionRequest(params=chat(model, **extra))
    return gw.chat.StreamChatCompletion(request)


def _text(messages: list[chat_service_pb2.StreamChatCompletionResponse]) -> str:
    return "".join(c.choices[0].delta.text for m in messages for c in m.chunks if c.choices)


async def test_a_stream_is_retried_on_another_deployment_before_it_is_accepted(upstream: FakeUpstream) -> None:
    settings = settings_of(
        deployment("m", upstream, "refusing", {"status": 503}), deployment("m", upstream, "ok"), cooldown_time=0
    )
    async with gateway(settings) as gw:
        for _ in range(10):
            call = _stream(gw, "m")
            headers = initial(await call.initial_metadata())
            assert headers == {"x-aqueduct-model-group": "m", "x-aqueduct-deployment": "m#1"}
            assert _text([m async for m in call]) == "tok0 tok1 tok2 tok3 tok4 "


async def test_no_retry_after_the_first_byte_went_to_the_client(upstream: FakeUpstream) -> None:
    settings = settings_of(
        deployment("m", upstream, "breaks-a", {"reset_after": 2}),
        deployment("m", upstream, "breaks-b", {"reset_after": 2}),
    )
    upstream.reset()
    async with gateway(settings) as gw:
        call = _stream(gw, "m", x_fake={"chunk_delay_ms": 5})
        received: list[chat_service_pb2.StreamChatCompletionResponse] = []
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for message in call:
                received.append(message)
        assert _text(received) == "tok0 tok1 "
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        event = (await gw.sink.wait_for(1))[0]
    assert len(upstream.requests) == 1
    assert event.status == 503 and event.output_tokens >= 1


async def test_a_stalled_stream_ends_with_an_error_and_records_usage(upstream: FakeUpstream) -> None:
    settings = settings_of(deployment("m", upstream, "stalls", {"stall_after": 2}, stream_timeout=0.3))
    upstream.reset()
    async with gateway(settings) as gw:
        started = time.monotonic()
        call = _stream(gw, "m")
        received: list[chat_service_pb2.StreamChatCompletionResponse] = []
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for message in call:
                received.append(message)
        assert 0.3 <= time.monotonic() - started < 3
        assert _text(received) == "tok0 tok1 "
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        event = (await gw.sink.wait_for(1))[0]
    assert (event.status, event.tokens_estimated) == (504, True) and event.output_tokens >= 2
    assert len(upstream.requests) == 1


async def test_client_disconnect_cancels_the_upstream_request_at_once(upstream: FakeUpstream) -> None:
    settings = settings_of(deployment("m", upstream, "stalls", {"stall_after": 1}, stream_timeout=60))
    async with gateway(settings) as gw:
        call = _stream(gw, "m")
        first = await call.read()
        assert isinstance(first, chat_service_pb2.StreamChatCompletionResponse) and first.chunks
        assert upstream.app.in_flight == 1
        call.cancel()
        async with asyncio.timeout(2):
            event = (await gw.sink.wait_for(1))[0]
            # The fake runs in another thread and has no event to wait on: poll its counter.
            await async_wait_until(lambda: upstream.app.in_flight == 0, what="the upstream request to end")
        assert event.status == 499
        m = gw.runtime.router.registry.resolve("m").deployments[0]
        assert gw.runtime.router.board.get(m).in_flight == 0


async def test_through_the_facade_headers_and_an_in_band_stall_error(upstream: FakeUpstream) -> None:
    settings = settings_of(
        deployment("m", upstream, "down", {"status": 500}),
        deployment("m", upstream, "up"),
        deployment("stall", upstream, "stalls", {"stall_after": 2}, stream_timeout=0.3),
    )
    async with gateway(settings) as gw, facade(gw.target) as base_url, httpx2.AsyncClient(verify=False) as http:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-x", max_retries=0, http_client=http)
        raw = await client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "hi"}], extra_headers={"x-request-id": "rid-facade"}
        )
        assert raw.headers["x-aqueduct-model-group"] == "m"
        assert raw.headers["x-aqueduct-deployment"] == "m#1"
        assert raw.headers["x-request-id"] == "rid-facade"
        assert raw.parse().model == "up"
        assert any(r.headers.get("x-request-id") == "rid-facade" for r in upstream.requests)

        async with client.chat.completions.with_streaming_response.create(
            model="stall", messages=[{"role": "user", "content": "hi"}], stream=True
        ) as response:
            assert response.headers["x-aqueduct-deployment"] == "stall#2"
            texts: list[str] = []
            with pytest.raises(openai.APIError):
                async for chunk in await response.parse():
                    texts.extend(c.delta.content or "" for c in chunk.choices)
        assert "".join(texts) == "tok0 tok1 "
