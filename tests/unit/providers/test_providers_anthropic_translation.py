"""OpenAI <-> Anthropic translation tables: requests, responses, stream events, errors."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from core.errors import InvalidRequest, UpstreamError
from core.providers.anthropic.errors import error_from_response, error_from_stream_event
from core.providers.anthropic.request import to_messages_request
from core.providers.anthropic.response import to_chat_completion, usage_of
from core.providers.anthropic.stream import ChunkTranslator
from core.providers.scrubbing import Scrubber

SCRUB = Scrubber(("sk-ant-secret-key",))


def translate(body: dict[str, Any], drop: bool = False) -> dict[str, Any]:
    return to_messages_request(body, model="claude-x", max_tokens=100, drop_params=drop, public="claude")


def test_system_and_developer_messages_become_system_blocks_and_same_role_turns_merge() -> None:
    out = translate(
        {
            "messages": [
                {"role": "developer", "content": "rule one"},
                {"role": "user", "content": "a"},
                {"role": "system", "content": [{"type": "text", "text": "rule two"}]},
                {"role": "user", "content": [{"type": "text", "text": "b"}]},
                {"role": "assistant", "content": ""},
            ],
            "stop": "END",
            "max_tokens": 7,
        }
    )
    assert out["system"] == [{"type": "text", "text": "rule one"}, {"type": "text", "text": "rule two"}]
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]
    assert out["stop_sequences"] == ["END"] and out["max_tokens"] == 7 and out["model"] == "claude-x"
    assert "stream" not in out


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ({"type": "function", "function": {"name": "f"}}, {"type": "tool", "name": "f"}),
    ],
)
def test_tool_choice_mapping(choice: Any, expected: dict[str, Any]) -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    out = translate({"messages": [{"role": "user", "content": "x"}], "tools": tools, "tool_choice": choice})
    assert out["tool_choice"] == expected
    assert out["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}, "messages[0].content"),
        ({"role": "function", "content": "x", "name": "f"}, "messages[0]"),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]},
            "messages[0].content[0]",
        ),
        (
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]},
            "messages[0].content[0]",
        ),
        ({"role": "tool", "content": "x"}, "messages[0]"),
        (
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{"}}],
            },
            "messages[0]",
        ),
    ],
)
def test_content_anthropic_cannot_take_is_a_400_naming_where(message: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        translate({"messages": [message]})
    assert info.value.field == field


def test_unsupported_parameters_are_refused_or_dropped_and_defaults_pass() -> None:
    base = {"messages": [{"role": "user", "content": "x"}]}
    with pytest.raises(InvalidRequest) as info:
        translate({**base, "logit_bias": {"1": 2}})
    assert info.value.field == "logit_bias"
    assert "logit_bias" not in translate({**base, "logit_bias": {"1": 2}}, drop=True)
    quiet = translate({**base, "n": 1, "logprobs": False, "response_format": {"type": "text"}, "modalities": ["text"]})
    assert not {"n", "logprobs", "response_format", "modalities"} & set(quiet)
    assert translate({**base, "top_k": 3, "thinking": {"type": "enabled", "budget_tokens": 1024}})["top_k"] == 3
    with pytest.raises(InvalidRequest):
        translate({"messages": []})
    with pytest.raises(InvalidRequest):
        translate({"messages": [{"role": "system", "content": "only a system prompt"}]})


def test_a_message_maps_text_tools_thinking_usage_and_stop_reasons() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "model": "claude-x",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}},
        ],
        "stop_reason": "tool_use",
        "usage": {
            "input_tokens": 10,
            "output_tokens": 5,
            "cache_read_input_tokens": 4,
            "cache_creation_input_tokens": 2,
        },
    }
    out = to_chat_completion(message)
    reply = out["choices"][0]["message"]
    assert reply["content"] == "Let me check." and reply["reasoning_content"] == "hmm"
    assert reply["tool_calls"] == [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]
    assert out["choices"][0]["finish_reason"] == "tool_calls"
    assert out["usage"] == {
        "prompt_tokens": 16,
        "completion_tokens": 5,
        "total_tokens": 21,
        "prompt_tokens_details": {"cached_tokens": 4},
    }
    refused = to_chat_completion({**message, "content": [], "stop_reason": "refusal"})
    assert refused["choices"][0]["finish_reason"] == "content_filter"
    assert refused["choices"][0]["message"]["content"] == ""
    assert usage_of(None) == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    with pytest.raises(UpstreamError):
        to_chat_completion({"type": "error"})


def test_stream_events_translate_to_chunks() -> None:
    t = ChunkTranslator()
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {"id": "m1", "model": "cx", "usage": {"input_tokens": 9, "output_tokens": 1}},
        },
        {"type": "ping"},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "x"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "t", "name": "f", "input": {}},
        },
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"a"'}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ":1}"}},
        {"type": "some_future_event"},
        {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 3}},
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 6}},
    ]
    chunks = []
    for event in events:
        out, done = t.feed(event)
        assert not done
        chunks += out
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert deltas[1] == {"reasoning_content": "hm"}
    assert deltas[2]["tool_calls"][0] == {
        "index": 0,
        "id": "t",
        "type": "function",
        "function": {"name": "f", "arguments": ""},
    }
    assert "".join(d["tool_calls"][0]["function"]["arguments"] for d in deltas[3:5]) == '{"a":1}'
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    last, done = t.feed({"type": "message_stop"})
    assert done and last[0]["choices"] == [] and last[0]["usage"]["completion_tokens"] == 6
    assert last[0]["usage"]["prompt_tokens"] == 9 and last[0]["id"] == "m1" and last[0]["model"] == "cx"


@pytest.mark.parametrize(
    ("status", "kind", "answered", "code"),
    [
        (400, "invalid_request_error", 400, None),
        (404, "not_found_error", 404, None),
        (413, "request_too_large", 413, None),
        (429, "rate_limit_error", 429, "rate_limit_exceeded"),
        (500, "api_error", 500, None),
        (529, "overloaded_error", 503, None),
        (401, "authentication_error", 502, "upstream_auth_failed"),
    ],
)
def test_http_errors_keep_or_translate_the_status(status: int, kind: str, answered: int, code: str | None) -> None:
    body = orjson.dumps({"type": "error", "error": {"type": kind, "message": "went wrong sk-ant-secret-key"}})
    error = error_from_response(status, body, {"retry-after": "3"}, SCRUB, "claude")
    assert error.status == answered and error.upstream_status == status
    assert error.metadata.get("upstream_code") == code
    assert "sk-ant-secret-key" not in error.message
    assert error_from_response(502, b"<html>", {}, SCRUB, "claude").message == "The upstream returned HTTP 502."


def test_stream_error_events_get_the_status_of_their_type() -> None:
    overloaded = error_from_stream_event(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, SCRUB, "c"
    )
    assert overloaded.status == 503 and overloaded.upstream_status == 529 and overloaded.message == "Overloaded"
    assert error_from_stream_event({"type": "error"}, SCRUB, "c").status == 502
