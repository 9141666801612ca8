"""What lands in typed fields vs extra_json, and the response-side rendering rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aqueduct.v1 import chat_pb2, common_pb2, completion_pb2, embedding_pb2, model_pb2

import aqueduct_openai as codec

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "golden"


def _golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def test_chat_params_typed_fields() -> None:
    params = codec.chat_params_from_json(_golden("chat_params/tools_images_vendor_keys.json"))
    assert params.model == "gpt-4o-2024-08-06"
    assert params.temperature == 0.7 and params.max_tokens == 512 and params.seed == 1234567890123
    assert params.user == "user-4821" and dict(params.metadata) == {"trace_id": "7b1c", "team": "weather"}
    user = params.messages[2]
    assert user.role == chat_pb2.CHAT_ROLE_USER and user.name == "alice"
    assert user.parts.parts[1].image_url.url == "https://upload.example.com/paris.jpg"
    assert user.parts.parts[1].image_url.detail == "high"
    assert json.loads(user.parts.parts[3].extra_json) == {
        "input_audio": {"data": "UklGRiQAAABXQVZFZm10IBAAAAABAAEA", "format": "wav"}
    }
    assistant = params.messages[3]
    assert assistant.WhichOneof("content") is None
    assert assistant.tool_calls[0].function.name == "get_weather"
    assert params.messages[4].tool_call_id == "call_9XkVJ1qz3"
    assert json.loads(params.messages[5].extra_json) == {"refusal": None, "reasoning_content": "The user wants…"}
    tool = params.tools[0]
    assert tool.function.name == "get_weather" and tool.function.strict is True
    assert json.loads(tool.function.parameters_json)["properties"]["days"]["maximum"] == 14
    extra = codec.loads(params.extra_json)
    assert extra["logit_bias"] == {"50256": -100, "1734": 5}
    assert extra["x_huge_counter"] == 123456789012345678901234567890
    assert extra["min_p"] == 0 and isinstance(extra["min_p"], int)
    assert "temperature" not in extra and "model" not in extra


def test_stream_is_ignored_and_user_id_never_forwarded() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "user_id": "end-user-7",
    }
    params = codec.chat_params_from_json(body)
    assert params.user_id == "end-user-7" and params.stream_options.include_usage is True
    assert params.extra_json == ""
    assert codec.chat_params_to_json(params) == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream_options": {"include_usage": True},
    }
    assert codec.stream_requested(body) is True
    assert codec.stream_requested({"stream": None}) is False
    assert codec.stream_requested({}) is False


def test_typed_value_wins_over_null_placeholder() -> None:
    params = codec.chat_params_from_json({"model": "m", "messages": [], "max_tokens": None})
    assert not params.HasField("max_tokens")
    params.max_tokens = 64  # core may set a default
    assert codec.chat_params_to_json(params)["max_tokens"] == 64


def test_collision_between_typed_and_extra_is_an_error() -> None:
    params = chat_pb2.ChatCompletionParams(model="m", extra_json='{"model": "other"}')
    with pytest.raises(codec.CodecError) as info:
        codec.chat_params_to_json(params)
    assert info.value.field == "model"
    params = chat_pb2.ChatCompletionParams(model="m", extra_json='{"temperature": 0.2}')
    with pytest.raises(codec.CodecError):
        codec.chat_params_to_json(params)
    message = chat_pb2.ChatMessage(role=chat_pb2.CHAT_ROLE_USER, text="x", extra_json='{"content": "y"}')
    with pytest.raises(codec.CodecError) as info:
        codec.chat_params_to_json(chat_pb2.ChatCompletionParams(model="m", messages=[message]))
    assert info.value.field == "messages[0].content"


def test_extra_json_must_be_an_object() -> None:
    with pytest.raises(codec.CodecError) as info:
        codec.chat_params_to_json(chat_pb2.ChatCompletionParams(model="m", extra_json="[1]"))
    assert info.value.field == "extra_json"


def test_response_rendering_rules() -> None:
    completion = chat_pb2.ChatCompletion(
        id="c1",
        created=5,
        model="m",
        choices=[
            chat_pb2.ChatCompletionChoice(
                message=chat_pb2.ChatMessage(
                    role=chat_pb2.CHAT_ROLE_ASSISTANT,
                    tool_calls=[chat_pb2.ToolCall(id="t", type="function", function=chat_pb2.FunctionCall(name="f"))],
                )
            )
        ],
        usage=common_pb2.TokenUsage(prompt_tokens=1, completion_tokens=2, total_tokens=3, estimated=True),
    )
    out = codec.chat_completion_to_json(completion)
    assert out["object"] == "chat.completion"
    choice = out["choices"][0]
    assert choice["message"]["content"] is None
    assert choice["logprobs"] is None and choice["finish_reason"] is None
    assert out["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    assert "system_fingerprint" not in out and "service_tier" not in out

    plain = chat_pb2.ChatMessage(role=chat_pb2.CHAT_ROLE_ASSISTANT)
    completion.choices[0].message.CopyFrom(plain)
    assert "content" not in codec.chat_completion_to_json(completion)["choices"][0]["message"]


def test_chunk_usage_only_when_set() -> None:
    chunk = chat_pb2.ChatCompletionChunk(id="c", model="m", choices=[chat_pb2.ChatCompletionChunkChoice()])
    out = codec.chat_chunk_to_json(chunk)
    assert out["object"] == "chat.completion.chunk" and "usage" not in out
    assert out["choices"][0]["delta"] == {}
    chunk.usage.prompt_tokens = 4
    assert codec.chat_chunk_to_json(chunk)["usage"]["prompt_tokens"] == 4


def test_completion_usage_response_vs_chunk() -> None:
    completion = completion_pb2.Completion(id="x", choices=[completion_pb2.CompletionChoice(text="hi")])
    assert codec.completion_to_json(completion)["usage"] == {
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
    }
    chunk = codec.completion_to_json(completion, chunk=True)
    assert "usage" not in chunk and chunk["object"] == "text_completion"


def test_prompt_kinds() -> None:
    assert codec.completion_params_from_json({"model": "m", "prompt": "p"}).text == "p"
    texts = codec.completion_params_from_json({"model": "m", "prompt": ["a", "b"]})
    assert list(texts.texts.values) == ["a", "b"]
    tokens = codec.completion_params_from_json({"model": "m", "prompt": [[1, 2], [3]]})
    assert tokens.tokens_json == "[[1,2],[3]]"
    empty = codec.embedding_params_from_json({"model": "m", "input": []})
    assert empty.WhichOneof("input") == "texts"
    assert codec.embedding_params_to_json(empty) == {"model": "m", "input": []}


def test_embeddings_typed() -> None:
    result = codec.embedding_list_from_json(_golden("embedding_list/float.json"))
    assert result.data[1].floats.values[3] == 1e-07
    assert result.usage.prompt_tokens == 8
    b64 = codec.embedding_list_from_json(_golden("embedding_list/base64.json"))
    assert b64.data[0].base64 == "AACAPwAAAEAAAEBAAACAQA=="
    rendered = codec.embedding_list_to_json(embedding_pb2.EmbeddingList(model="m"))
    assert rendered == {"object": "list", "data": [], "model": "m"}


def test_model_to_json() -> None:
    model = model_pb2.Model(id="org/model-a", created=7, owned_by="aqueduct", mode="chat", aliases=["a"])
    assert codec.model_to_json(model) == {"id": "org/model-a", "object": "model", "created": 7, "owned_by": "aqueduct"}
    assert codec.model_list_to_json([model])["object"] == "list"


def test_big_ints_round_trip_through_dumps() -> None:
    value = {"n": 2**70, "m": -(2**64), "f": 0.000123456789012345678}
    assert codec.loads(codec.dumps(value)) == value
    assert codec.loads('{"s": "12345678901234567890123"}') == {"s": "12345678901234567890123"}
