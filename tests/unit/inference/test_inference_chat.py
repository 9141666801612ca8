from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aqueduct.v1 import chat_pb2

from aqueduct_openai import chat_params_from_json
from core.auth.principal import Principal, Role, set_principal
from core.errors import InvalidRequest, ModelNotFound, PermissionDenied, UpstreamError, UpstreamTimeout
from core.inference import ChatInference, current_caller
from core.request_context import RequestContext
from tests.unit.inference.inference_fakes import FakeProvider, RecordingSink, make_caller, make_deps, usage_json

RESPONSE: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "upstream-chat",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi there"}, "finish_reason": "stop"}],
    "usage": usage_json(11, 2),
}


def _params(**extra: Any) -> chat_pb2.ChatCompletionParams:
    body = {"model": "main", "messages": [{"role": "user", "content": "hello"}], **extra}
    return chat_params_from_json(body)


async def test_success_records_one_event_with_attribution_and_upstream_usage() -> None:
    sink, provider = RecordingSink(), FakeProvider(response=RESPONSE)
    completion = await ChatInference(make_deps(provider, sink)).create(_params(user_id="end-7"), make_caller())
    assert completion.choices[0].message.text == "hi there"
    assert completion.usage.prompt_tokens == 11 and not completion.usage.estimated
    event = sink.only
    assert (event.status, event.model, event.deployment) == (200, "chat-model", "upstream-chat")
    assert (event.input_tokens, event.output_tokens, event.tokens_estimated) == (11, 2, False)
    assert (event.token_id, event.user_id, event.org_id, event.end_user_id) == ("tok-1", "user-1", "org-1", "end-7")
    assert (event.request_id, event.endpoint_method, event.endpoint_path) == ("req-123", "POST", "/v1/chat/completions")
    assert event.user_agent == "pytest" and event.client_addr == "127.0.0.1"
    assert event.latency_ms >= 0 and event.ttft_ms is None and event.error_message is None


async def test_user_id_is_never_forwarded_but_openai_user_and_unknown_keys_are() -> None:
    sink, provider = RecordingSink(), FakeProvider(response=RESPONSE)
    params = _params(user_id="end-7", user="openai-user", top_k=40, logit_bias={"50256": -100})
    await ChatInference(make_deps(provider, sink)).create(params, make_caller())
    method, body, request_id = provider.calls[0]
    assert method == "chat" and request_id == "req-123"
    assert "user_id" not in body
    assert body["user"] == "openai-user"
    assert body["top_k"] == 40 and isinstance(body["top_k"], int)
    assert body["logit_bias"] == {"50256": -100}
    assert "stream" not in body


async def test_missing_upstream_usage_is_estimated_and_flagged() -> None:
    sink = RecordingSink()
    provider = FakeProvider(response={k: v for k, v in RESPONSE.items() if k != "usage"})
    completion = await ChatInference(make_deps(provider, sink)).create(_params(), make_caller())
    assert completion.usage.estimated
    assert completion.usage.completion_tokens == 2  # "hi there" = 8 chars
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 2
    assert sink.only.tokens_estimated and sink.only.output_tokens == 2


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (UpstreamError("rate limited", upstream_status=429, retry_after=1), 429),
        (UpstreamError("boom", upstream_status=500), 500),
        (UpstreamTimeout("slow"), 504),
    ],
)
async def test_upstream_failures_record_their_status(error: Exception, status: int) -> None:
    sink = RecordingSink()
    with pytest.raises(type(error)):
        await ChatInference(make_deps(FakeProvider(error=error), sink)).create(_params(), make_caller())
    assert sink.only.status == status
    assert sink.only.error_message == str(error)
    assert sink.only.model == "chat-model"


async def test_unknown_model_and_wrong_endpoint_are_recorded_too() -> None:
    sink, provider = RecordingSink(), FakeProvider(response=RESPONSE)
    chat = ChatInference(make_deps(provider, sink))
    with pytest.raises(ModelNotFound):
        await chat.create(_params(model="nope"), make_caller())
    with pytest.raises(InvalidRequest) as info:
        await chat.create(_params(model="embed-model"), make_caller())
    assert info.value.field == "model"
    assert [e.status for e in sink.events] == [404, 400]
    assert provider.calls == []


async def test_cancelled_request_records_499_and_propagates() -> None:
    sink = RecordingSink()
    gate, called = asyncio.Event(), asyncio.Event()

    class Slow(FakeProvider):
        async def chat_completion(self, body: dict[str, Any], *, request_id: str) -> dict[str, Any]:
            called.set()
            await gate.wait()
            return dict(RESPONSE)

    task = asyncio.create_task(ChatInference(make_deps(Slow(), sink)).create(_params(), make_caller()))
    await asyncio.wait_for(called.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sink.only.status == 499


def test_bootstrap_admin_cannot_call_inference() -> None:
    request = RequestContext.from_metadata([], "/x", None)
    set_principal(Principal(role=Role.ADMIN, is_bootstrap_admin=True))
    try:
        with pytest.raises(PermissionDenied):
            current_caller(request)
        set_principal(Principal(role=Role.USER, token_id="t"))
        assert current_caller(request).principal.token_id == "t"
    finally:
        set_principal(None)
