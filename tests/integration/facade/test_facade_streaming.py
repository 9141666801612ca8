"""Streaming through the façade: SSE framing, usage chunks, early and in-band errors, keepalives, and a client
disconnect cancelling core's RPC."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import openai
import pytest

from tests.integration.facade.facade_fake_core import FakeCore

pytestmark = pytest.mark.asyncio(loop_scope="module")

MESSAGES: Any = [{"role": "user", "content": "hi"}]


async def test_chat_stream_with_usage(any_client: openai.AsyncOpenAI, fake_core: FakeCore) -> None:
    stream = await any_client.chat.completions.create(
        model="gpt-test", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 5
    assert all(c.usage is None for c in chunks[:-1])
    assert fake_core.last.method == "StreamChatCompletion"
    assert fake_core.last.request.params.stream_options.include_usage is True


async def test_chat_stream_without_usage(client: openai.AsyncOpenAI) -> None:
    stream = await client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    chunks = [chunk async for chunk in stream]
    assert len(chunks) == 4 and all(c.usage is None for c in chunks)


async def test_completion_stream(any_client: openai.AsyncOpenAI, fake_core: FakeCore) -> None:
    stream = await any_client.completions.create(
        model="gpt-test", prompt="hello", stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].text for c in chunks if c.choices) == " world"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 2
    assert fake_core.last.metadata["x-aqueduct-endpoint"] == "POST /v1/completions"


async def test_sse_framing(http: httpx2.AsyncClient, fake_core: FakeCore) -> None:
    body = {"model": "gpt-test", "messages": MESSAGES, "stream": True}
    async with http.stream("POST", "/v1/chat/completions", json=body, headers={"x-request-id": "sse-1"}) as response:
        raw = b"".join([part async for part in response.aiter_bytes()])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["x-request-id"] == "sse-1"
    events = raw.decode().split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]"
    payloads = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    assert all(p["object"] == "chat.completion.chunk" for p in payloads)
    assert "usage" not in payloads[0] and payloads[0]["choices"][0]["logprobs"] is None
    assert fake_core.last.metadata["x-request-id"] == "sse-1"


async def test_error_before_first_chunk_is_http_error(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        await client.chat.completions.create(model="error-early:rate", messages=MESSAGES, stream=True)
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "2"
    with pytest.raises(openai.NotFoundError):
        await client.completions.create(model="error:model_not_found", prompt="x", stream=True)


async def test_error_after_first_chunk_is_in_band(client: openai.AsyncOpenAI, http: httpx2.AsyncClient) -> None:
    stream = await client.chat.completions.create(model="error-mid", messages=MESSAGES, stream=True)
    received = []
    with pytest.raises(openai.APIError) as info:
        async for chunk in stream:
            received.append(chunk)
    assert len(received) == 2
    assert "Bad gateway from upstream" in info.value.message

    body = {"model": "error-mid", "messages": MESSAGES, "stream": True}
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        raw = b"".join([part async for part in response.aiter_bytes()]).decode()
    last = raw.rstrip("\n").split("\n\n")[-1]
    error = json.loads(last.removeprefix("data: "))["error"]
    assert error["message"] == "Bad gateway from upstream" and error["type"] == "server_error"
    assert "[DONE]" not in raw


async def test_keepalive_during_silence(http: httpx2.AsyncClient) -> None:
    body = {"model": "pause", "messages": MESSAGES, "stream": True}
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        raw = b"".join([part async for part in response.aiter_bytes()]).decode()
    assert raw.startswith(": keepalive\n\n")
    assert raw.endswith("data: [DONE]\n\n")


async def test_client_disconnect_cancels_core_call(http: httpx2.AsyncClient, fake_core: FakeCore) -> None:
    body = {"model": "slow", "messages": MESSAGES, "stream": True}
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                break
    # Leaving the block closes the connection mid-stream; the façade must cancel the gRPC call.
    await asyncio.wait_for(fake_core.cancelled.wait(), timeout=5)
