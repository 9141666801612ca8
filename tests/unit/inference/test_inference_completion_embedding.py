from __future__ import annotations

from typing import Any

import pytest
from aqueduct.v1 import completion_pb2

from aqueduct_openai import completion_params_from_json, embedding_params_from_json
from core.errors import InvalidRequest
from core.inference import CompletionInference, EmbeddingInference, ModelCatalog
from tests.unit.inference.inference_fakes import (
    FakeProvider,
    RecordingSink,
    ScriptedStream,
    make_caller,
    make_deps,
    usage_json,
)


def _text_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "upstream-text",
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
    }


async def test_completion_create_records_usage_and_hides_user_id() -> None:
    sink = RecordingSink()
    provider = FakeProvider(response={**_text_chunk(" world", "stop"), "usage": usage_json(2, 1)})
    params = completion_params_from_json({"model": "text-model", "prompt": "hello", "user_id": "e", "best_of": 2})
    result = await CompletionInference(make_deps(provider, sink)).create(params, make_caller())
    assert result.choices[0].text == " world"
    assert provider.last_body["best_of"] == 2 and "user_id" not in provider.last_body
    assert (sink.only.status, sink.only.input_tokens, sink.only.output_tokens, sink.only.end_user_id) == (
        200,
        2,
        1,
        "e",
    )


async def test_completion_stream_estimates_usage_and_strips_nothing_it_should_keep() -> None:
    sink = RecordingSink()
    stream = ScriptedStream([_text_chunk("abcd"), _text_chunk("", "stop")])
    batches: list[list[completion_pb2.Completion]] = []

    async def emit(chunks: list[completion_pb2.Completion]) -> None:
        batches.append(chunks)

    async def accepted() -> None:
        return None

    params = completion_params_from_json(
        {"model": "chat-model", "prompt": "hello", "stream_options": {"include_usage": True}}
    )
    await CompletionInference(make_deps(FakeProvider(stream=stream), sink)).stream(
        params, make_caller(), on_accepted=accepted, emit=emit
    )
    chunks = [c for b in batches for c in b]
    assert [c.choices[0].text for c in chunks[:2]] == ["abcd", ""]
    assert chunks[-1].usage.estimated and chunks[-1].usage.completion_tokens == 1
    assert sink.only.tokens_estimated and sink.only.model == "chat-model"


async def test_embeddings_forward_user_not_user_id_and_estimate_when_needed() -> None:
    sink = RecordingSink()
    response = {
        "object": "list",
        "model": "upstream-embed",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 40]}],
    }
    provider = FakeProvider(response=response)
    params = embedding_params_from_json(
        {"model": "embed-model", "input": "abcdefgh", "user": "u", "user_id": "e", "dimensions": 2}
    )
    result = await EmbeddingInference(make_deps(provider, sink)).create(params, make_caller())
    assert list(result.data[0].floats.values) == [0.5, 40.0]
    body = provider.last_body
    assert body["user"] == "u" and "user_id" not in body and body["dimensions"] == 2
    assert result.usage.estimated and result.usage.prompt_tokens == 2
    assert (sink.only.input_tokens, sink.only.output_tokens, sink.only.tokens_estimated) == (2, 0, True)


async def test_embedding_model_rejected_for_completions() -> None:
    sink = RecordingSink()
    params = completion_params_from_json({"model": "embed-model", "prompt": "x"})
    with pytest.raises(InvalidRequest):
        await CompletionInference(make_deps(FakeProvider(), sink)).create(params, make_caller())
    assert sink.only.status == 400


def test_model_catalog_pages_by_token_and_resolves_aliases() -> None:
    registry = make_deps(FakeProvider(), RecordingSink()).registry
    catalog = ModelCatalog(registry)
    first = catalog.page(2, "")
    assert [m.name for m in first.items] == ["chat-model", "embed-model"] and first.next_page_token
    rest = catalog.page(2, first.next_page_token)
    assert [m.name for m in rest.items] == ["text-model"] and rest.next_page_token == ""
    assert [m.name for m in catalog.page(0, "").items] == ["chat-model", "embed-model", "text-model"]
    assert catalog.get("main").name == "chat-model"
    with pytest.raises(InvalidRequest) as info:
        catalog.page(1, "%%%")
    assert info.value.field == "page_token"
    with pytest.raises(InvalidRequest):
        catalog.page(-1, "")
