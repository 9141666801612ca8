"""AqueductClient against fake Chat/Embedding/Model/tenancy services on a real socket: bearer metadata on every
stub (tenancy included), chunk flattening, early-exit cancellation, model paging."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from aqueduct.v1 import (
    chat_pb2,
    chat_service_pb2,
    chat_service_pb2_grpc,
    embedding_pb2,
    embedding_service_pb2,
    embedding_service_pb2_grpc,
    model_pb2,
    model_service_pb2,
    model_service_pb2_grpc,
    org_service_pb2,
    token_service_pb2,
    user_service_pb2,
)
from aqueduct_client import AqueductClient

from tests.integration.cli.cli_harness import FakeTenancy

TOKEN = "sk-client-test"
STREAM_CHUNKS = 6


def _authorized(context: Any) -> bool:
    return (dict(context.invocation_metadata() or ())).get("authorization") == f"Bearer {TOKEN}"


class FakeInference(
    chat_service_pb2_grpc.ChatServiceServicer,
    embedding_service_pb2_grpc.EmbeddingServiceServicer,
    model_service_pb2_grpc.ModelServiceServicer,
):
    def __init__(self) -> None:
        self.stream_cancelled = asyncio.Event()
        self.last_params: chat_pb2.ChatCompletionParams | None = None

    async def _check(self, context: Any) -> None:
        if not _authorized(context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid token")

    async def CreateChatCompletion(self, request: Any, context: Any) -> chat_service_pb2.CreateChatCompletionResponse:
        await self._check(context)
        self.last_params = request.params
        reply = chat_pb2.ChatMessage(
            role=chat_pb2.CHAT_ROLE_ASSISTANT, text="echo: " + request.params.messages[-1].text
        )
        completion = chat_pb2.ChatCompletion(
            id="c1", model=request.params.model, choices=[chat_pb2.ChatCompletionChoice(message=reply)]
        )
        return chat_service_pb2.CreateChatCompletionResponse(completion=completion)

    async def StreamChatCompletion(self, request: Any, context: Any) -> AsyncIterator[Any]:
        await self._check(context)
        try:
            for i in range(0, STREAM_CHUNKS, 2):
                yield chat_service_pb2.StreamChatCompletionResponse(
                    chunks=[chat_pb2.ChatCompletionChunk(id=f"k{i}"), chat_pb2.ChatCompletionChunk(id=f"k{i + 1}")]
                )
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.stream_cancelled.set()
            raise

    async def CreateEmbeddings(self, request: Any, context: Any) -> embedding_service_pb2.CreateEmbeddingsResponse:
        await self._check(context)
        texts = list(request.params.texts.values) if request.params.HasField("texts") else [request.params.text]
        data = [
            embedding_pb2.Embedding(index=i, floats=embedding_pb2.FloatVector(values=[float(len(t))]))
            for i, t in enumerate(texts)
        ]
        return embedding_service_pb2.CreateEmbeddingsResponse(
            embeddings=embedding_pb2.EmbeddingList(data=data, model=request.params.model)
        )

    async def ListModels(self, request: Any, context: Any) -> model_service_pb2.ListModelsResponse:
        await self._check(context)
        models = [model_pb2.Model(id=f"m{i}") for i in range(3)]
        start = int(request.page_token or 0)
        end = start + 1
        return model_service_pb2.ListModelsResponse(
            models=models[start:end], next_page_token=str(end) if end < len(models) else ""
        )

    async def GetModel(self, request: Any, context: Any) -> model_service_pb2.GetModelResponse:
        await self._check(context)
        return model_service_pb2.GetModelResponse(model=model_pb2.Model(id=request.id))


@pytest.fixture
async def fake_services() -> AsyncIterator[tuple[str, FakeInference, FakeTenancy]]:
    server = grpc.aio.server()
    # The generated bases answer UNIMPLEMENTED for the RPCs the fake does not need.
    inference = FakeInference()  # type: ignore[abstract]
    chat_service_pb2_grpc.add_ChatServiceServicer_to_server(inference, server)
    embedding_service_pb2_grpc.add_EmbeddingServiceServicer_to_server(inference, server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(inference, server)
    tenancy = FakeTenancy()
    tenancy.add_to(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", inference, tenancy
    finally:
        await server.stop(None)


async def test_chat_embeddings_models_and_admin(fake_services: tuple[str, FakeInference, FakeTenancy]) -> None:
    target, inference, tenancy = fake_services
    async with AqueductClient(target, TOKEN) as client:
        completion = await client.create_chat_completion(
            "gpt-x", [{"role": "user", "content": "hi"}], temperature=0.0, max_tokens=5
        )
        assert completion.choices[0].message.text == "echo: hi"
        assert inference.last_params is not None and inference.last_params.HasField("temperature")

        chunks = [
            chunk.id async for chunk in client.stream_chat_completion("gpt-x", [{"role": "user", "content": "x"}])
        ]
        assert chunks == [f"k{i}" for i in range(STREAM_CHUNKS)]

        embeddings = await client.create_embeddings("emb", ["a", "bcd"])
        assert [list(e.floats.values) for e in embeddings.data] == [[1.0], [3.0]]
        assert (await client.create_embeddings("emb", "four")).data[0].floats.values[0] == 4.0

        assert [m.id for m in await client.list_models()] == ["m0", "m1", "m2"]
        assert (await client.get_model("m1")).id == "m1"

        # The raw tenancy stubs are authorized too (the fake rejects anything but its own tokens).
        calls = (
            client.orgs.ListOrgs(org_service_pb2.ListOrgsRequest()),
            client.users.ListUsers(user_service_pb2.ListUsersRequest()),
            client.tokens.ListTokens(token_service_pb2.ListTokensRequest()),
        )
        for call in calls:
            with pytest.raises(grpc.aio.AioRpcError) as denied:
                await call
            assert denied.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert [m["authorization"] for m in tenancy.seen_metadata] == [f"Bearer {TOKEN}"] * len(calls)


async def test_leaving_a_stream_early_cancels_it(fake_services: tuple[str, FakeInference, FakeTenancy]) -> None:
    target, inference, _ = fake_services
    async with AqueductClient(target, TOKEN) as client:
        stream = client.stream_chat_completion("gpt-x", [{"role": "user", "content": "x"}])
        async for _chunk in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
        await asyncio.wait_for(inference.stream_cancelled.wait(), 5)


async def test_wrong_token_is_unauthenticated(fake_services: tuple[str, FakeInference, FakeTenancy]) -> None:
    target, _, _ = fake_services
    async with AqueductClient(target, "sk-wrong") as client:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await client.list_models()
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
