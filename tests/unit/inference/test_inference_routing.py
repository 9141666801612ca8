"""The inference path with the router: a failing deployment is retried on another, the usage record and
the response metadata name the deployment that answered, and a stream error after acceptance is not retried."""

from __future__ import annotations

import pytest

from aqueduct_openai import chat_params_from_json
from core.errors import UpstreamError, UpstreamUnavailable
from core.inference.chat import ChatInference
from core.inference.pipeline import InferenceDeps
from core.inference.response_metadata import ResponseMetadata
from core.providers.base import Provider
from core.routing import Deployment, ModelRegistry
from core.settings import Settings
from tests.unit.inference.inference_fakes import FakeProvider, RecordingSink, ScriptedStream, chat_chunk, make_caller

ENTRIES = [
    {"model_name": "m", "litellm_params": {"model": "openai/bad", "api_base": "http://127.0.0.1:9/v1"}},
    {"model_name": "m", "litellm_params": {"model": "openai/good", "api_base": "http://127.0.0.1:9/v1"}},
]
ANSWER = {
    "id": "c",
    "object": "chat.completion",
    "created": 1,
    "model": "good",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


class ByUpstream:
    def __init__(self, providers: dict[str, FakeProvider]) -> None:
        self.providers = providers

    def get(self, deployment: Deployment) -> Provider:
        return self.providers[deployment.upstream_model]


def _chat(providers: dict[str, FakeProvider], sink: RecordingSink) -> ChatInference:
    registry = ModelRegistry.from_settings(Settings.model_validate({"model_list": ENTRIES}))
    return ChatInference(InferenceDeps(registry=registry, providers=ByUpstream(providers), usage=sink))


async def test_a_failing_deployment_is_retried_and_the_answering_one_is_reported() -> None:
    bad = FakeProvider(error=UpstreamUnavailable("connection refused"))
    good = FakeProvider(response=ANSWER)
    sink = RecordingSink()
    chat = _chat({"bad": bad, "good": good}, sink)
    params = chat_params_from_json({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    for _ in range(10):
        metadata = ResponseMetadata()
        completion = await chat.create(params, make_caller(), response_metadata=metadata)
        assert completion.model == "good"
        assert metadata.pairs() == (("x-aqueduct-model-group", "m"), ("x-aqueduct-deployment", "m#1"))
    assert {(e.status, e.deployment, e.request_id) for e in sink.events} == {(200, "good", "req-123")}
    assert all(call[2] == "req-123" for call in bad.calls + good.calls)


async def test_an_error_after_the_stream_was_accepted_is_not_retried() -> None:
    broken = ScriptedStream([chat_chunk("a"), UpstreamError("gone", upstream_status=502)])
    first = FakeProvider(stream=broken)
    second = FakeProvider(stream=ScriptedStream([chat_chunk("b")]))
    sink = RecordingSink()
    chat = _chat({"bad": first, "good": second}, sink)
    params = chat_params_from_json({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True})
    emitted: list[object] = []

    async def accepted() -> None:
        return None

    async def emit(chunks: list[object]) -> None:
        emitted.extend(chunks)

    with pytest.raises(UpstreamError):
        # Whichever deployment is picked first, its stream breaks (both scripted the same way).
        second.stream = ScriptedStream([chat_chunk("a"), UpstreamError("gone", upstream_status=502)])
        await chat.stream(params, make_caller(), on_accepted=accepted, emit=emit)  # type: ignore[arg-type]
    assert len(first.calls) + len(second.calls) == 1
    assert len(emitted) == 1 and sink.only.status == 502
