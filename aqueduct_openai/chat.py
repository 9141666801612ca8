"""Chat completions: request parameters, complete responses and stream chunks."""

from __future__ import annotations

from typing import Any, TypeVar

from aqueduct.v1 import chat_pb2

from ._chat_message import message_from_json, message_into, message_to_json, tool_from_json, tool_to_json
from .common import (
    STRING_PARAM_CHECKS,
    JsonObject,
    check_bool,
    check_float,
    check_int,
    check_str,
    has_field,
    join,
    json_text_or_none,
    merge_extra,
    missing,
    pass_through_text,
    require_list,
    require_object,
    split_extra,
    usage_from_json,
    usage_to_json,
)

_FLOAT_PARAMS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
_INT_PARAMS = ("max_tokens", "max_completion_tokens", "n", "seed")
_STR_PARAMS = ("user", "user_id")
_PARAMS_KEYS = frozenset(
    {"model", "messages", "tools", "stream_options", "metadata", *_FLOAT_PARAMS, *_INT_PARAMS, *_STR_PARAMS}
)
# `stream` picks the RPC and `user_id` is Aqueduct's own; neither is a parameter forwarded upstream.
_PARAMS_DROP = frozenset({"stream", "user_id"})
_STREAM_OPTIONS_KEYS = frozenset({"include_usage"})
_CHOICE_KEYS = frozenset({"index", "message", "delta", "finish_reason", "logprobs"})
_RESPONSE_KEYS = frozenset(
    {"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier"}
)

CHAT_COMPLETION_OBJECT = "chat.completion"
CHAT_CHUNK_OBJECT = "chat.completion.chunk"


def stream_requested(body: JsonObject) -> bool:
    """The request's `stream` flag (absent or null is false); it selects the RPC and is not a parameter."""
    value = body.get("stream")
    return False if value is None else check_bool(value, "stream")


# -- shared request pieces (also used by legacy completions) -------------------------------------------------------


def read_sampling(body: JsonObject, params: Any, floats: tuple[str, ...], ints: tuple[str, ...]) -> None:
    for key in floats:
        value = body.get(key)
        if value is not None:
            setattr(params, key, check_float(value, key))
    for key in ints:
        value = body.get(key)
        if value is not None:
            setattr(params, key, check_int(value, key))
    for key in _STR_PARAMS:
        value = body.get(key)
        if value is not None:
            setattr(params, key, STRING_PARAM_CHECKS[key](value, key))


def stream_options_from_json(value: Any, target: chat_pb2.StreamOptions) -> None:
    d = require_object(value, "stream_options")
    include = d.get("include_usage")
    if include is not None:
        target.include_usage = check_bool(include, "stream_options.include_usage")
    target.extra_json = split_extra(d, _STREAM_OPTIONS_KEYS)
    target.SetInParent()


def stream_options_to_json(options: chat_pb2.StreamOptions) -> JsonObject:
    out: JsonObject = {}
    if options.HasField("include_usage"):
        out["include_usage"] = options.include_usage
    return merge_extra(out, options.extra_json, _STREAM_OPTIONS_KEYS, "stream_options")


def write_sampling(params: Any, out: JsonObject, floats: tuple[str, ...], ints: tuple[str, ...]) -> None:
    for key in (*floats, *ints, "user"):
        if params.HasField(key):
            out[key] = getattr(params, key)


# -- request --------------------------------------------------------------------------------------------------------


def chat_params_from_json(body: Any) -> chat_pb2.ChatCompletionParams:
    """Client (or SDK) request JSON -> params. `stream` is ignored (see `stream_requested`)."""
    d = require_object(body, "")
    model = d.get("model")
    if model is None:
        raise missing("model")
    messages = d.get("messages")
    if messages is None:
        raise missing("messages")
    params = chat_pb2.ChatCompletionParams(model=check_str(model, "model"))
    for i, item in enumerate(require_list(messages, "messages")):
        params.messages.append(message_from_json(item, f"messages[{i}]", require_role=True))
    read_sampling(d, params, _FLOAT_PARAMS, _INT_PARAMS)
    tools = d.get("tools")
    if tools is not None:
        for i, item in enumerate(require_list(tools, "tools")):
            params.tools.append(tool_from_json(item, f"tools[{i}]"))
    stream_options = d.get("stream_options")
    if stream_options is not None:
        stream_options_from_json(stream_options, params.stream_options)
    metadata = d.get("metadata")
    if metadata is not None:
        for key, value in require_object(metadata, "metadata").items():
            params.metadata[key] = check_str(value, join("metadata", key))
    params.extra_json = split_extra(d, _PARAMS_KEYS, _PARAMS_DROP)
    return params


def chat_params_to_json(params: chat_pb2.ChatCompletionParams) -> JsonObject:
    """Params -> upstream request JSON: never `user_id`, never `stream` (the caller adds it)."""
    out: JsonObject = {
        "model": params.model,
        "messages": [message_to_json(m, f"messages[{i}]") for i, m in enumerate(params.messages)],
    }
    write_sampling(params, out, _FLOAT_PARAMS, _INT_PARAMS)
    if params.tools:
        out["tools"] = [tool_to_json(t, f"tools[{i}]") for i, t in enumerate(params.tools)]
    if params.HasField("stream_options"):
        out["stream_options"] = stream_options_to_json(params.stream_options)
    if params.metadata:
        out["metadata"] = dict(params.metadata)
    return merge_extra(out, params.extra_json, _PARAMS_KEYS, "", _PARAMS_DROP)


# -- responses --------------------------------------------------------------------------------------------------------


def _finish_reason(d: JsonObject, path: str) -> str:
    value = d.get("finish_reason")
    return "" if value is None else check_str(value, join(path, "finish_reason"))


def _logprobs_json(d: JsonObject) -> str:
    value = d.get("logprobs")
    return "" if value is None else pass_through_text(value, "logprobs")


def read_header(d: JsonObject, target: Any) -> None:
    """id / created / model / system_fingerprint (and service_tier where the message has it)."""
    # Unrolled: this runs for every chunk of every stream.
    value = d.get("id")
    if value is not None:
        target.id = check_str(value, "id")
    value = d.get("model")
    if value is not None:
        target.model = check_str(value, "model")
    created = d.get("created")
    if created is not None:
        target.created = check_int(created, "created")
    value = d.get("system_fingerprint")
    if value is not None and has_field(target, "system_fingerprint"):
        target.system_fingerprint = check_str(value, "system_fingerprint")
    value = d.get("service_tier")
    if value is not None and has_field(target, "service_tier"):
        target.service_tier = check_str(value, "service_tier")


def header_to_json(message: Any, object_name: str) -> JsonObject:
    return {"id": message.id, "object": object_name, "created": message.created, "model": message.model}


def write_tail(message: Any, out: JsonObject) -> None:
    for key in ("system_fingerprint", "service_tier"):
        if has_field(message, key) and message.HasField(key):
            out[key] = getattr(message, key)


def _choices(d: JsonObject) -> list[Any]:
    value = d.get("choices")
    return [] if value is None else require_list(value, "choices")


# A whole completion and one stream chunk have the same shape; a choice holds a `message` in one, a `delta` in
# the other.
_Response = TypeVar("_Response", chat_pb2.ChatCompletion, chat_pb2.ChatCompletionChunk)


def chat_completion_from_json(d: Any) -> chat_pb2.ChatCompletion:
    """Upstream response JSON -> ChatCompletion."""
    return _response_from_json(d, chat_pb2.ChatCompletion(), "message")


def chat_completion_to_json(c: chat_pb2.ChatCompletion) -> JsonObject:
    return _response_to_json(c, CHAT_COMPLETION_OBJECT, "message")


def chat_chunk_from_json(d: Any) -> chat_pb2.ChatCompletionChunk:
    """One upstream stream event's JSON -> ChatCompletionChunk."""
    return _response_from_json(d, chat_pb2.ChatCompletionChunk(), "delta")


def chat_chunk_to_json(c: chat_pb2.ChatCompletionChunk) -> JsonObject:
    return _response_to_json(c, CHAT_CHUNK_OBJECT, "delta")


def _response_from_json(d: Any, response: _Response, message_key: str) -> _Response:
    body = require_object(d, "")
    read_header(body, response)
    for i, item in enumerate(_choices(body)):
        path = f"choices[{i}]"
        c = require_object(item, path)
        choice = response.choices.add(index=_index(c, path), finish_reason=_finish_reason(c, path))
        choice.logprobs_json = _logprobs_json(c)
        message = c.get(message_key)
        if message is not None:
            message_into(getattr(choice, message_key), message, join(path, message_key), require_role=False)
        choice.extra_json = split_extra(c, _CHOICE_KEYS)
    usage = body.get("usage")
    if usage is not None:
        response.usage.CopyFrom(usage_from_json(usage, "usage"))
    response.extra_json = split_extra(body, _RESPONSE_KEYS)
    return response


def _response_to_json(c: _Response, object_name: str, message_key: str) -> JsonObject:
    out = header_to_json(c, object_name)
    choices = []
    for i, choice in enumerate(c.choices):
        path = f"choices[{i}]"
        rendered: JsonObject = {
            "index": choice.index,
            message_key: message_to_json(getattr(choice, message_key), join(path, message_key)),
            "logprobs": json_text_or_none(choice.logprobs_json, join(path, "logprobs_json")),
            "finish_reason": choice.finish_reason or None,
        }
        choices.append(merge_extra(rendered, choice.extra_json, _CHOICE_KEYS, path))
    out["choices"] = choices
    if c.HasField("usage"):
        out["usage"] = usage_to_json(c.usage, "usage")
    write_tail(c, out)
    return merge_extra(out, c.extra_json, _RESPONSE_KEYS, "")


def _index(c: JsonObject, path: str) -> int:
    value = c.get("index")
    return 0 if value is None else check_int(value, join(path, "index"))
