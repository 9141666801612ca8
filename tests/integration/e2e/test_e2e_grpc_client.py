"""Internal services call core directly over gRPC with the committed stubs and the typed client."""

from __future__ import annotations

import grpc
import pytest
from aqueduct.v1 import chat_pb2, chat_service_pb2, chat_service_pb2_grpc, org_service_pb2, token_service_pb2
from aqueduct_client import AqueductClient

from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway


async def test_typed_client_chat_stream_embeddings_models(
    gateway: Gateway, upstream: FakeUpstream, user_token: str
) -> None:
    async with AqueductClient(gateway.core_target, user_token) as client:
        completion = await client.create_chat_completion(
            "coding", [{"role": "user", "content": "hi"}], user_id="svc-user-1", max_tokens=20
        )
        assert completion.choices[0].message.text
        assert "user_id" not in upstream.requests[-1].json
        assert upstream.requests[-1].json["max_tokens"] == 20

        chunks = [c async for c in client.stream_chat_completion("chat-model", [{"role": "user", "content": "hi"}])]
        assert "".join(ch.delta.text for c in chunks for ch in c.choices)

        models = await client.list_models()
        assert "chat-model" in {m.id for m in models}
        assert (await client.get_model("main")).id == "chat-model"

        # A user's token may list its own tokens but not create orgs.
        own = await client.tokens.ListTokens(token_service_pb2.ListTokensRequest())
        assert len(own.tokens) == 1
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await client.orgs.CreateOrg(org_service_pb2.CreateOrgRequest(org_id="nope"))
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_raw_stub_without_token_is_unauthenticated(gateway: Gateway) -> None:
    with grpc.insecure_channel(gateway.core_target) as channel:
        stub = chat_service_pb2_grpc.ChatServiceStub(channel)
        request = chat_service_pb2.CreateChatCompletionRequest(
            params=chat_pb2.ChatCompletionParams(
                model="chat-model", messages=[chat_pb2.ChatMessage(role=chat_pb2.CHAT_ROLE_USER, text="hi")]
            )
        )
        with pytest.raises(grpc.RpcError) as err:
            stub.CreateChatCompletion(request)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
