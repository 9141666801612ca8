"""Validation errors name the offending field (CodecError.field and the message)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

import aqueduct_openai as codec

_MSG = [{"role": "user", "content": "hi"}]

CASES: list[tuple[str, Callable[[Any], Any], Any, str | None]] = [
    ("chat body not object", codec.chat_params_from_json, [1, 2], None),
    ("chat body string", codec.chat_params_from_json, "hi", None),
    ("missing model", codec.chat_params_from_json, {"messages": _MSG}, "model"),
    ("missing messages", codec.chat_params_from_json, {"model": "m"}, "messages"),
    ("messages string", codec.chat_params_from_json, {"model": "m", "messages": "hi"}, "messages"),
    ("model not string", codec.chat_params_from_json, {"model": 3, "messages": _MSG}, "model"),
    (
        "max_tokens string",
        codec.chat_params_from_json,
        {"model": "m", "messages": _MSG, "max_tokens": "abc"},
        "max_tokens",
    ),
    (
        "max_tokens float",
        codec.chat_params_from_json,
        {"model": "m", "messages": _MSG, "max_tokens": 1.5},
        "max_tokens",
    ),
    (
        "max_tokens bool",
        codec.chat_params_from_json,
        {"model": "m", "messages": _MSG, "max_tokens": True},
        "max_tokens",
    ),
    ("n too large", codec.chat_params_from_json, {"model": "m", "messages": _MSG, "n": 2**70}, "n"),
    (
        "temperature hot",
        codec.chat_params_from_json,
        {"model": "m", "messages": _MSG, "temperature": "hot"},
        "temperature",
    ),
    (
        "temperature bool",
        codec.chat_params_from_json,
        {"model": "m", "messages": _MSG, "temperature": False},
        "temperature",
    ),
    ("user int", codec.chat_params_from_json, {"model": "m", "messages": _MSG, "user": 5}, "user"),
    ("message not object", codec.chat_params_from_json, {"model": "m", "messages": ["hi"]}, "messages[0]"),
    (
        "unknown role",
        codec.chat_params_from_json,
        {"model": "m", "messages": [*_MSG, *_MSG, {"role": "robot", "content": "x"}]},
        "messages[2].role",
    ),
    ("missing role", codec.chat_params_from_json, {"model": "m", "messages": [{"content": "x"}]}, "messages[0].role"),
    (
        "content number",
        codec.chat_params_from_json,
        {"model": "m", "messages": [{"role": "user", "content": 5}]},
        "messages[0].content",
    ),
    (
        "part without type",
        codec.chat_params_from_json,
        {"model": "m", "messages": [{"role": "user", "content": [{"text": "x"}]}]},
        "messages[0].content[0].type",
    ),
    (
        "tool_calls not list",
        codec.chat_params_from_json,
        {"model": "m", "messages": [{"role": "assistant", "tool_calls": {}}]},
        "messages[0].tool_calls",
    ),
    ("tools not list", codec.chat_params_from_json, {"model": "m", "messages": _MSG, "tools": {}}, "tools"),
    (
        "tool without type",
        codec.chat_params_from_json,
        {"model": "m", "messages": _MSG, "tools": [{}]},
        "tools[0].type",
    ),
    (
        "stream_options bool",
        codec.chat_params_from_json,
        {"model": "m", "messages": _MSG, "stream_options": {"include_usage": "yes"}},
        "stream_options.include_usage",
    ),
    (
        "metadata int value",
        codec.chat_params_from_json,
        {"model": "m", "messages": _MSG, "metadata": {"k": 1}},
        "metadata.k",
    ),
    ("missing prompt", codec.completion_params_from_json, {"model": "m"}, "prompt"),
    ("prompt number", codec.completion_params_from_json, {"model": "m", "prompt": 5}, "prompt"),
    ("prompt mixed", codec.completion_params_from_json, {"model": "m", "prompt": ["a", 1]}, "prompt[0]"),
    ("prompt bad token", codec.completion_params_from_json, {"model": "m", "prompt": [[1, "x"]]}, "prompt[0][1]"),
    ("missing input", codec.embedding_params_from_json, {"model": "m"}, "input"),
    (
        "dimensions string",
        codec.embedding_params_from_json,
        {"model": "m", "input": "x", "dimensions": "4"},
        "dimensions",
    ),
    ("embedding bad vector", codec.embedding_list_from_json, {"data": [{"embedding": 3}]}, "data[0].embedding"),
    ("embedding bad item", codec.embedding_list_from_json, {"data": [{"embedding": ["x"]}]}, "data[0].embedding"),
    ("user_id NUL", codec.chat_params_from_json, {"model": "m", "messages": _MSG, "user_id": "evade\x00"}, "user_id"),
    (
        "user_id escape",
        codec.completion_params_from_json,
        {"model": "m", "prompt": "p", "user_id": "\x1b[2J"},
        "user_id",
    ),
    ("user_id RLO", codec.embedding_params_from_json, {"model": "m", "input": "x", "user_id": "a\u202eb"}, "user_id"),
    ("user_id newline", codec.chat_params_from_json, {"model": "m", "messages": _MSG, "user_id": "a\nb"}, "user_id"),
    (
        "user_id too long",
        codec.chat_params_from_json,
        {"model": "m", "messages": _MSG, "user_id": "u" * 256},
        "user_id",
    ),
    ("user_id int", codec.embedding_params_from_json, {"model": "m", "input": "x", "user_id": 5}, "user_id"),
    ("too many inputs", codec.embedding_params_from_json, {"model": "m", "input": ["x"] * 2049}, "input"),
    ("too many token inputs", codec.embedding_params_from_json, {"model": "m", "input": [[1]] * 2049}, "input"),
    ("response choices", codec.chat_completion_from_json, {"choices": {}}, "choices"),
    ("response created", codec.chat_chunk_from_json, {"created": "now"}, "created"),
    ("usage not object", codec.completion_from_json, {"usage": 5}, "usage"),
]


@pytest.mark.parametrize(("function", "body", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_codec_error_names_field(function: Callable[[Any], Any], body: Any, field: str | None) -> None:
    with pytest.raises(codec.CodecError) as info:
        function(body)
    assert info.value.field == field
    if field is not None:
        assert f"'{field}'" in info.value.message
    assert isinstance(info.value, ValueError)


def test_stream_flag_must_be_boolean() -> None:
    with pytest.raises(codec.CodecError) as info:
        codec.stream_requested({"stream": "yes"})
    assert info.value.field == "stream"


BIG = b"12345678901234567890123"  # forces the stdlib parser


@pytest.mark.parametrize(
    "text",
    [
        b"{",
        b"nope",
        b"\xff\xfe",
        b'{"a": NaN}',
        b"",
        b"[" * 5000 + b"]" * 5000,
        b"[" + BIG + b"," + b"[" * 5000 + b"]" * 5000 + b"]",
        b'["\\ud800"]',
        b'["\\ud800", ' + BIG + b"]",
        b"[1e400]",
    ],
)
def test_invalid_json(text: bytes) -> None:
    with pytest.raises(codec.CodecError) as info:
        codec.loads(text)
    assert info.value.field is None


def test_user_id_accepts_printable_text_of_any_script_up_to_its_bound() -> None:
    for user_id in ("student-42", "Ünïcødé 学生 @ example.com", "u" * 255):
        params = codec.chat_params_from_json({"model": "m", "messages": _MSG, "user_id": user_id})
        assert params.user_id == user_id


def test_embedding_input_bound_is_openais() -> None:
    assert len(codec.embedding_params_from_json({"model": "m", "input": ["x"] * 2048}).texts.values) == 2048
    one_long_token_array = codec.embedding_params_from_json({"model": "m", "input": list(range(5000))})
    assert one_long_token_array.tokens_json.startswith("[0,1,2")


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [1, 100, codec.MAX_PASS_THROUGH_DEPTH - 1])
def test_pass_through_json_that_is_accepted_can_be_written_upstream(depth: int) -> None:
    """Whatever the façade accepts, core can embed in the upstream body and write (orjson stops at 254 levels)."""
    tool = {"type": "function", "function": {"name": "f", "parameters": {"deep": _nested(depth)}}}
    body = {"model": "m", "messages": _MSG, "unknown": _nested(depth), "tools": [tool]}
    upstream = codec.chat_params_to_json(codec.chat_params_from_json(body))
    assert orjson.loads(orjson.dumps({**upstream, "model": "upstream-model"}))["unknown"] == _nested(depth)


@pytest.mark.parametrize("depth", [codec.MAX_PASS_THROUGH_DEPTH + 1, 254, 300, 990, 1023])
def test_json_nested_too_deeply_is_a_codec_error_naming_the_field(depth: int) -> None:
    with pytest.raises(codec.CodecError) as info:
        codec.chat_params_from_json({"model": "m", "messages": _MSG, "unknown": _nested(depth)})
    assert info.value.field == "unknown" and "levels deep" in info.value.message
    tool = {"type": "function", "function": {"name": "f", "parameters": {"p": _nested(depth)}}}
    with pytest.raises(codec.CodecError) as info:
        codec.chat_params_from_json({"model": "m", "messages": _MSG, "tools": [tool]})
    assert info.value.field == "tools[0].function.parameters"


def test_deep_upstream_logprobs_are_a_codec_error() -> None:
    with pytest.raises(codec.CodecError):
        codec.chat_completion_from_json({"choices": [{"index": 0, "logprobs": {"x": _nested(400)}}]})


def test_big_integers_pass_through_exactly_unless_nested_too_deeply() -> None:
    big = 2**70
    params = codec.chat_params_from_json({"model": "m", "messages": _MSG, "seed_big": [big]})
    assert codec.chat_params_to_json(params)["seed_big"] == [big]
    with pytest.raises(codec.CodecError):
        codec.chat_params_from_json({"model": "m", "messages": _MSG, "seed_big": [*_nested(300), big]})
