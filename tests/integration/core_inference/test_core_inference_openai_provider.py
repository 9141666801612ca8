"""OpenAICompatibleProvider against the shared fake upstream over real loopback HTTP."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest

from core.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from core.providers import OpenAICompatibleProvider
from core.routing import ModelRegistry
from core.settings import ConfigError, Settings
from tests.integration.upstream_http.upstream_tls_server import TLSFakeUpstream
from tests.support.fake_upstream import FakeUpstream

KEY = "sk-upstream-own-key-42"


def _provider(api_base: str, **params: Any) -> OpenAICompatibleProvider:
    entry = {"model_name": "public", "litellm_params": {"model": "openai/fake-model", "api_base": api_base, **params}}
    deployment = (
        ModelRegistry.from_settings(Settings.model_validate({"model_list": [entry]})).resolve("public").deployments[0]
    )
    return OpenAICompatibleProvider(deployment)


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSFakeUpstream]:
    with TLSFakeUpstream(tmp_path_factory.mktemp("tls")) as fake:
        yield fake


@pytest.fixture
async def provider(upstream: FakeUpstream) -> AsyncIterator[OpenAICompatibleProvider]:
    upstream.reset()
    p = _provider(upstream.base_url, api_key=KEY, timeout=5, stream_timeout=0.5)
    yield p
    await p.aclose()


def _chat(**extra: Any) -> dict[str, Any]:
    return {"model": "public", "messages": [{"role": "user", "content": "hi there"}], **extra}


async def test_upstream_sees_its_own_key_upstream_model_request_id_and_exact_unknown_fields(
    provider: OpenAICompatibleProvider, upstream: FakeUpstream
) -> None:
    out = await provider.chat_completion(_chat(top_k=40, temperature=0.5, vendor={"n": 3}), request_id="req-9")
    assert out["choices"][0]["message"]["content"] == "tok0 tok1 tok2 tok3 tok4 "
    recorded = upstream.requests[-1]
    assert recorded.path == "/v1/chat/completions"
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    assert recorded.headers["x-request-id"] == "req-9"
    assert recorded.json["model"] == "fake-model"
    assert b'"top_k":40,' in recorded.body and recorded.json["vendor"] == {"n": 3}


@pytest.mark.parametrize(
    ("status", "code"), [(429, grpc.StatusCode.RESOURCE_EXHAUSTED), (500, grpc.StatusCode.INTERNAL)]
)
async def test_http_errors_map_to_upstream_error(
    provider: OpenAICompatibleProvider, status: int, code: grpc.StatusCode
) -> None:
    with pytest.raises(UpstreamError) as info:
        await provider.chat_completion(_chat(x_fake={"status": status}), request_id="r")
    err = info.value
    assert (err.upstream_status, err.code, err.message) == (status, code, f"fake upstream error {status}")
    assert err.retry_after == (1.0 if status == 429 else None)
    assert KEY not in repr(err.__dict__)


async def test_an_upstream_401_is_a_502_saying_the_gateway_credentials_were_refused(upstream: FakeUpstream) -> None:
    p = _provider(upstream.base_url)
    try:
        with pytest.raises(UpstreamError) as info:
            await p.embeddings({"model": "public", "input": "x"}, request_id="r")
    finally:
        await p.aclose()
    err = info.value
    assert (err.upstream_status, err.status, err.metadata["upstream_code"]) == (401, 502, "upstream_auth_failed")


async def test_total_timeout(upstream: FakeUpstream) -> None:
    p = _provider(upstream.base_url, api_key=KEY, timeout=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(UpstreamTimeout):
            await p.chat_completion(_chat(x_fake={"latency_ms": 3000}), request_id="r")
    finally:
        await p.aclose()
    assert time.monotonic() - started < 2


async def test_reset_and_refused_connections_are_unavailable(provider: OpenAICompatibleProvider) -> None:
    with pytest.raises(UpstreamUnavailable):
        await provider.chat_completion(_chat(x_fake={"reset": True}), request_id="r")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    p = _provider(f"http://127.0.0.1:{port}/v1", api_key=KEY)
    try:
        with pytest.raises(UpstreamUnavailable):
            await p.completion({"model": "public", "prompt": "x"}, request_id="r")
    finally:
        await p.aclose()


async def test_stream_events_then_done(provider: OpenAICompatibleProvider, upstream: FakeUpstream) -> None:
    body = _chat(stream=True, stream_options={"include_usage": True})
    stream = await provider.stream_chat_completion(body, request_id="r")
    events = [e async for e in stream]
    assert "".join(c["delta"].get("content", "") for e in events for c in e["choices"]) == "tok0 tok1 tok2 tok3 tok4 "
    assert events[-1]["usage"]["completion_tokens"] == 5
    assert upstream.requests[-1].headers["accept"] == "text/event-stream"


async def test_stream_without_usage_like_llama_cpp(provider: OpenAICompatibleProvider) -> None:
    body = {
        "model": "public",
        "prompt": "x",
        "stream": True,
        "stream_options": {"include_usage": True},
        "x_fake": {"no_usage": True},
    }
    events = [e async for e in await provider.stream_completion(body, request_id="r")]
    assert not any(e.get("usage") for e in events)
    assert "".join(c["text"] for e in events for c in e["choices"]) == "tok0 tok1 tok2 tok3 tok4 "


async def test_stream_stall_is_a_timeout(provider: OpenAICompatibleProvider) -> None:
    stream = await provider.stream_chat_completion(_chat(stream=True, x_fake={"stall_after": 2}), request_id="r")
    seen = 0
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        async for _ in stream:
            seen += 1
    assert seen == 2 and time.monotonic() - started < 3


async def test_malformed_sse_is_a_502(provider: OpenAICompatibleProvider) -> None:
    stream = await provider.stream_chat_completion(_chat(stream=True, x_fake={"malformed_sse": 2}), request_id="r")
    with pytest.raises(UpstreamError) as info:
        async for _ in stream:
            pass
    assert info.value.upstream_status == 502


async def test_reset_mid_stream_is_unavailable(provider: OpenAICompatibleProvider) -> None:
    stream = await provider.stream_chat_completion(_chat(stream=True, x_fake={"reset_after": 2}), request_id="r")
    with pytest.raises(UpstreamUnavailable):
        async for _ in stream:
            pass


async def test_stream_error_status_is_raised_before_acceptance(provider: OpenAICompatibleProvider) -> None:
    with pytest.raises(UpstreamError) as info:
        await provider.stream_chat_completion(_chat(stream=True, x_fake={"status": 429}), request_id="r")
    assert info.value.upstream_status == 429 and info.value.retry_after == 1.0


async def test_closing_a_stream_early_is_quick_and_the_pool_keeps_working(provider: OpenAICompatibleProvider) -> None:
    stream = await provider.stream_chat_completion(_chat(stream=True, x_fake={"stall_after": 1}), request_id="r")
    async for _ in stream:
        break
    await stream.aclose()
    out = await provider.embeddings({"model": "public", "input": ["a", "b"], "dimensions": 4}, request_id="r")
    assert len(out["data"]) == 2 and len(out["data"][0]["embedding"]) == 4


async def test_streams_read_to_done_reuse_one_connection(provider: OpenAICompatibleProvider) -> None:
    for _ in range(3):
        stream = await provider.stream_chat_completion(_chat(stream=True), request_id="r")
        assert len([e async for e in stream]) == 6  # 5 content chunks and the finish chunk
        await stream.aclose()
    await provider.chat_completion(_chat(), request_id="r")
    assert provider.connections_opened == 1


async def test_a_stream_stopped_early_does_not_reuse_its_connection(provider: OpenAICompatibleProvider) -> None:
    # Paced chunks: the first read cannot hold the whole body, so stopping after it is stopping early.
    stream = await provider.stream_chat_completion(_chat(stream=True, x_fake={"chunk_delay_ms": 20}), request_id="r")
    async for _ in stream:
        break
    await stream.aclose()
    out = await provider.chat_completion(_chat(), request_id="r")
    assert out["choices"][0]["message"]["content"] == "tok0 tok1 tok2 tok3 tok4 "
    assert provider.connections_opened == 2


async def test_a_cancelled_stream_closes_its_connection(provider: OpenAICompatibleProvider) -> None:
    stream = await provider.stream_chat_completion(_chat(stream=True, x_fake={"stall_after": 1}), request_id="r")
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in stream:
            started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), 2)
    task.cancel()
    await asyncio.wait([task])
    assert task.cancelled()
    await stream.aclose()
    # The half-read connection was dropped (the resilience tests check the upstream sees it), not pooled.
    await provider.embeddings({"model": "public", "input": "x"}, request_id="r")
    assert provider.connections_opened == 2


async def test_https_upstream(tls_upstream: TLSFakeUpstream) -> None:
    p = _provider(tls_upstream.base_url(), ssl_verify=str(tls_upstream.cert_path), api_key=KEY)
    try:
        out = await p.chat_completion(_chat(), request_id="r")
        assert out["usage"]["total_tokens"] > 0
        stream = await p.stream_chat_completion(_chat(stream=True), request_id="r")
        assert [e async for e in stream][-1]["choices"][0]["finish_reason"] == "stop"
        await p.embeddings({"model": "public", "input": "x"}, request_id="r")
        assert p.connections_opened == 1
        assert tls_upstream.app.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    finally:
        await p.aclose()


async def test_https_upstream_with_an_untrusted_certificate_is_unavailable(tls_upstream: TLSFakeUpstream) -> None:
    p = _provider(tls_upstream.base_url(), api_key=KEY)  # the system CA store does not know this certificate
    try:
        with pytest.raises(UpstreamUnavailable):
            await p.chat_completion(_chat(), request_id="r")
    finally:
        await p.aclose()


def test_api_base_must_be_http_or_https() -> None:
    with pytest.raises(ConfigError, match="api_base"):
        _provider("ftp://127.0.0.1/v1")


@pytest.mark.parametrize(("total", "gap"), [(0.3, 5), (5, 0.3)])
async def test_a_stream_whose_head_is_late_times_out(upstream: FakeUpstream, total: float, gap: float) -> None:
    # `timeout` bounds the wait for the upstream to accept a stream, and `stream_timeout` any silence, this one
    # too: either ends the wait long before the fake's 3 s answer (which would otherwise be a success).
    p = _provider(upstream.base_url, api_key=KEY, timeout=total, stream_timeout=gap)
    try:
        with pytest.raises(UpstreamTimeout):
            await p.stream_chat_completion(_chat(stream=True, x_fake={"latency_ms": 3000}), request_id="r")
    finally:
        await p.aclose()
