"""The inference servicers on a real grpc.aio server (port 0), called through the generated stubs.

A test-only interceptor sets the principal (the real AuthInterceptor needs a database) and turns domain
errors into plain statuses (the real ErrorsInterceptor adds the rich details)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from aqueduct.v1 import (
    chat_service_pb2,
    chat_service_pb2_grpc,
    completion_service_pb2,
    completion_service_pb2_grpc,
    embedding_service_pb2,
    embedding_service_pb2_grpc,
    model_service_pb2,
    model_service_pb2_grpc,
)

from aqueduct_openai import (
    chat_params_from_json,
    completion_params_from_json,
    embedding_params_from_json,
)
from core.auth.principal import Principal, Role, set_principal
from core.errors import AqueductError
from core.providers.mock import DEMO_PREFIX
from core.request_context import mark_from_facade
from core.services.inference_deps import add_inference_services
from core.settings import Settings
from core.usage.events import UsageEvent
from tests.support.fake_upstream import FakeUpstream

KEY = "sk-upstream-grpc-test"
USER = Principal(role=Role.USER, token_id="tok-9", user_id="user-9", org_id="org-9")
ADMIN = Principal(role=Role.ADMIN, is_bootstrap_admin=True)


class PrincipalAndErrorsInterceptor(grpc.aio.ServerInterceptor):
    """Sets the principal inside the RPC's own task (`x-test-principal: admin` picks the bootstrap admin) and
    aborts with the domain error's code and message."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(details)
        principal = ADMIN if ("x-test-principal", "admin") in tuple(details.invocation_metadata or ()) else USER
        if handler is None:
            return None
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            async def unary(request: Any, context: Any) -> Any:
                set_principal(principal)
                mark_from_facade(True)  # as the auth interceptor does for the façade's calls
                try:
                    return await inner(request, context)
                except AqueductError as exc:
                    await context.abort(exc.code, exc.message)

            return handler._replace(unary_unary=unary)
        inner_stream = handler.unary_stream
        assert inspect.isasyncgenfunction(inner_stream)

        async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
            set_principal(principal)
            mark_from_facade(True)
            try:
                async for item in inner_stream(request, context):
                    yield item
            except AqueductError as exc:
                await context.abort(exc.code, exc.message)

        return handler._replace(unary_stream=stream)


class ListSink:
    def __init__(self) -> None:
        self.events: list[UsageEvent] = []
        self._changed = asyncio.Event()

    def begin(self, event: UsageEvent) -> int | None:
        return None

    def record(self, event: UsageEvent, begun: int | None = None) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, n: int) -> list[UsageEvent]:
        """The first `n` events; callers bound the wait with asyncio.timeout where it matters."""
        while len(self.events) < n:
            self._changed.clear()
            await self._changed.wait()
        return self.events


def _settings(upstream: FakeUpstream) -> Settings:
    fake = {"model": "openai/fake-model", "api_base": upstream.base_url, "api_key": KEY, "stream_timeout": 30}
    return Settings.model_validate(
        {
            "model_list": [
                {"model_name": "demo", "litellm_params": {"model": "mock/demo"}, "model_info": {"aliases": ["d"]}},
                {
                    "model_name": "demo-embed",
                    "litellm_params": {"model": "mock/e"},
                    "model_info": {"mode": "embedding"},
                },
                {"model_name": "fake-chat", "litellm_params": fake},
            ]
        }
    )


class Env:
    def __init__(self, channel: grpc.aio.Channel, sink: ListSink) -> None:
        self.chat = chat_service_pb2_grpc.ChatServiceStub(channel)
        self.completions = completion_service_pb2_grpc.CompletionServiceStub(channel)
        self.embeddings = embedding_service_pb2_grpc.EmbeddingServiceStub(channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(channel)
        self.sink = sink


@pytest.fixture
async def env(upstream: FakeUpstream) -> AsyncIterator[Env]:
    sink = ListSink()
    server = grpc.aio.server(interceptors=[PrincipalAndErrorsInterceptor()])
    runtime = await add_inference_services(server, _settings(upstream), sink)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Env(channel, sink)
    finally:
        await channel.close()
        await server.stop(None)
        await runtime.aclose()


def _chat(model: str, **extra: Any) -> Any:
    return chat_params_from_json({"model": model, "messages": [{"role": "user", "content": "ping"}], **extra})


async def test_unary_chat_with_the_demo_provider_records_usage(env: Env) -> None:
    response = await env.chat.CreateChatCompletion(
        chat_service_pb2.CreateChatCompletionRequest(params=_chat("d", user_id="end-1")),
        metadata=[("x-request-id", "rid-1"), ("x-aqueduct-endpoint", "POST /v1/chat/completions")],
    )
    assert response.completion.choices[0].message.text == DEMO_PREFIX + "ping"
    event = (await env.sink.wait_for(1))[0]
    assert (event.status, event.model, event.token_id, event.end_user_id) == (200, "demo", "tok-9", "end-1")
    assert (event.request_id, event.endpoint_path) == ("rid-1", "/v1/chat/completions")
    assert event.output_tokens == response.completion.usage.completion_tokens > 0


async def test_stream_from_real_upstream_sends_metadata_first_and_hides_usage(env: Env, upstream: FakeUpstream) -> None:
    call = env.chat.StreamChatCompletion(chat_service_pb2.StreamChatCompletionRequest(params=_chat("fake-chat")))
    await call.initial_metadata()
    messages = [m async for m in call]
    chunks = [c for m in messages for c in m.chunks]
    assert "".join(c.choices[0].delta.text for c in chunks if c.choices) == "tok0 tok1 tok2 tok3 tok4 "
    assert not any(c.HasField("usage") for c in chunks)
    assert 1 <= len(messages) <= len(chunks)
    sent = upstream.requests[-1].json
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    event = (await env.sink.wait_for(1))[0]
    assert (event.status, event.output_tokens, event.tokens_estimated) == (200, 5, False)
    assert event.ttft_ms is not None


async def test_stream_with_include_usage_but_no_upstream_usage_gets_an_estimate(env: Env) -> None:
    params = _chat("fake-chat", stream_options={"include_usage": True}, x_fake={"no_usage": True})
    call = env.chat.StreamChatCompletion(chat_service_pb2.StreamChatCompletionRequest(params=params))
    chunks = [c async for m in call for c in m.chunks]
    assert chunks[-1].usage.estimated and chunks[-1].usage.completion_tokens > 0
    assert (await env.sink.wait_for(1))[0].tokens_estimated


async def test_upstream_error_before_first_chunk_is_a_plain_status(env: Env) -> None:
    params = _chat("fake-chat", x_fake={"status": 429})
    call = env.chat.StreamChatCompletion(chat_service_pb2.StreamChatCompletionRequest(params=params))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in call:
            pass
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert info.value.details() == "fake upstream error 429"
    assert (await env.sink.wait_for(1))[0].status == 429


async def test_error_mid_stream_ends_the_rpc_with_a_status(env: Env) -> None:
    params = _chat("fake-chat", x_fake={"malformed_sse": 3, "chunk_delay_ms": 20})
    call = env.chat.StreamChatCompletion(chat_service_pb2.StreamChatCompletionRequest(params=params))
    received = 0
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for message in call:
            received += len(message.chunks)
    assert received >= 1
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert (await env.sink.wait_for(1))[0].status == 502


async def test_client_cancel_stops_the_stream_and_records_499(env: Env) -> None:
    # The upstream stalls for 30 s after two chunks; only a real cancel ends the request within the wait.
    params = _chat("fake-chat", x_fake={"stall_after": 2})
    call = env.chat.StreamChatCompletion(chat_service_pb2.StreamChatCompletionRequest(params=params))
    first = await call.read()
    assert isinstance(first, chat_service_pb2.StreamChatCompletionResponse)
    call.cancel()
    async with asyncio.timeout(3):
        event = (await env.sink.wait_for(1))[0]
    assert event.status == 499 and event.output_tokens >= 1 and event.tokens_estimated


async def test_completions_embeddings_and_models(env: Env) -> None:
    completion = await env.completions.CreateCompletion(
        completion_service_pb2.CreateCompletionRequest(
            params=completion_params_from_json({"model": "demo", "prompt": "x"})
        )
    )
    assert completion.completion.choices[0].text == " " + DEMO_PREFIX + "x"
    stream = env.completions.StreamCompletion(
        completion_service_pb2.StreamCompletionRequest(
            params=completion_params_from_json({"model": "demo", "prompt": "y"})
        )
    )
    text = "".join(ch.text for m in [m async for m in stream] for c in m.chunks for ch in c.choices)
    assert text == " " + DEMO_PREFIX + "y"
    params = embedding_params_from_json(
        {"model": "demo-embed", "input": ["a", "b"], "encoding_format": "base64", "dimensions": 4}
    )
    embeddings = await env.embeddings.CreateEmbeddings(embedding_service_pb2.CreateEmbeddingsRequest(params=params))
    assert [e.WhichOneof("embedding") for e in embeddings.embeddings.data] == ["base64", "base64"]
    assert [e.status for e in await env.sink.wait_for(3)] == [200, 200, 200]

    page = await env.models.ListModels(model_service_pb2.ListModelsRequest(page_size=2))
    assert [m.id for m in page.models] == ["demo", "demo-embed"] and page.next_page_token
    rest = await env.models.ListModels(
        model_service_pb2.ListModelsRequest(page_size=2, page_token=page.next_page_token)
    )
    assert [m.id for m in rest.models] == ["fake-chat"] and not rest.next_page_token
    model = (await env.models.GetModel(model_service_pb2.GetModelRequest(id="d"))).model
    assert (model.id, model.mode, list(model.aliases)) == ("demo", "chat", ["d"])
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await env.models.GetModel(model_service_pb2.GetModelRequest(id="gpt-9"))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == "The model `gpt-9` does not exist or you do not have access to it."


async def test_wrong_endpoint_and_bootstrap_admin_are_refused(env: Env) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await env.chat.CreateChatCompletion(chat_service_pb2.CreateChatCompletionRequest(params=_chat("demo-embed")))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await env.chat.CreateChatCompletion(
            chat_service_pb2.CreateChatCompletionRequest(params=_chat("demo")), metadata=[("x-test-principal", "admin")]
        )
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
