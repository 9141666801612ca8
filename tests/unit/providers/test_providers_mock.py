from __future__ import annotations

import base64
import struct
from typing import Any

import pytest

from core.errors import UpstreamError
from core.providers.mock import DEMO_PREFIX, MockProvider
from core.routing import ModelRegistry
from core.settings import Settings


def _provider(**params: Any) -> MockProvider:
    settings = Settings.model_validate(
        {"model_list": [{"model_name": "demo", "litellm_params": {"model": "mock/demo-1", **params}}]}
    )
    return MockProvider(ModelRegistry.from_settings(settings).resolve("demo").deployments[0])


async def test_chat_is_labelled_deterministic_and_has_usage() -> None:
    body = {"model": "demo", "messages": [{"role": "user", "content": "hello there"}]}
    first = await _provider().chat_completion(body, request_id="r")
    second = await _provider().chat_completion(body, request_id="r")
    message = first["choices"][0]["message"]
    assert message["content"] == DEMO_PREFIX + "hello there"
    assert "demo mock provider" in message["content"]
    assert message["content"] == second["choices"][0]["message"]["content"]
    usage = first["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert first["model"] == "demo-1"


async def test_chat_stream_joins_to_the_same_text_and_sends_usage_only_when_asked() -> None:
    body: dict[str, Any] = {"model": "demo", "messages": [{"role": "user", "content": "stream me"}]}
    events = [e async for e in await _provider().stream_chat_completion(body, request_id="r")]
    text = "".join(c["delta"].get("content", "") for e in events for c in e["choices"])
    assert text == DEMO_PREFIX + "stream me"
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    assert not any("usage" in e for e in events)
    body["stream_options"] = {"include_usage": True}
    events = [e async for e in await _provider().stream_chat_completion(body, request_id="r")]
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] > 0


async def test_max_tokens_truncates_with_finish_reason_length() -> None:
    body = {"model": "demo", "messages": [{"role": "user", "content": "x"}], "max_tokens": 2}
    out = await _provider().chat_completion(body, request_id="r")
    assert out["choices"][0]["finish_reason"] == "length"
    assert len(out["choices"][0]["message"]["content"]) == 8


async def test_fixed_mock_response() -> None:
    out = await _provider(mock_response="fixed!").chat_completion({"messages": []}, request_id="r")
    assert out["choices"][0]["message"]["content"] == "fixed!"


async def test_completions_one_choice_per_prompt_and_stream() -> None:
    body: dict[str, Any] = {"model": "demo", "prompt": ["a", "b"], "stream_options": {"include_usage": True}}
    out = await _provider().completion(body, request_id="r")
    assert [c["text"] for c in out["choices"]] == [" " + DEMO_PREFIX + "a", " " + DEMO_PREFIX + "b"]
    events = [e async for e in await _provider().stream_completion(body, request_id="r")]
    texts: dict[int, str] = {}
    for e in events:
        for c in e["choices"]:
            texts[c["index"]] = texts.get(c["index"], "") + c["text"]
    assert texts == {0: out["choices"][0]["text"], 1: out["choices"][1]["text"]}
    assert events[-1]["usage"] == out["usage"]


async def test_embeddings_are_deterministic_unit_vectors_honouring_dimensions_and_base64() -> None:
    provider = _provider()
    floats = await provider.embeddings({"input": ["a", "b"], "dimensions": 16}, request_id="r")
    again = await provider.embeddings({"input": "a", "dimensions": 16}, request_id="r")
    b64 = await provider.embeddings({"input": ["a"], "dimensions": 16, "encoding_format": "base64"}, request_id="r")
    vec = floats["data"][0]["embedding"]
    assert len(vec) == 16 and vec == again["data"][0]["embedding"]
    assert vec != floats["data"][1]["embedding"]
    assert abs(sum(v * v for v in vec) - 1.0) < 1e-5
    decoded = list(struct.unpack("<16f", base64.b64decode(b64["data"][0]["embedding"])))
    assert decoded == vec
    assert floats["usage"]["prompt_tokens"] == floats["usage"]["total_tokens"] > 0
    default = await provider.embeddings({"input": [[1, 2, 3]]}, request_id="r")
    assert len(default["data"][0]["embedding"]) == 256


@pytest.mark.parametrize("body", [{"input": 5}, {"input": "x", "dimensions": 0}, {"input": []}])
async def test_bad_embedding_requests_are_upstream_400s(body: dict[str, Any]) -> None:
    with pytest.raises(UpstreamError) as info:
        await _provider().embeddings(body, request_id="r")
    assert info.value.upstream_status == 400
