"""Legacy text completions (/v1/completions): request parameters, responses and stream chunks."""

from __future__ import annotations

from typing import Any

from aqueduct.v1 import common_pb2, completion_pb2

from .chat import header_to_json, read_header, read_sampling, stream_options_from_json, stream_options_to_json
from .chat import write_sampling as _write_sampling
from .common import (
    JsonObject,
    check_int,
    check_str,
    classify_prompt,
    join,
    json_text_or_none,
    loads,
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
_INT_PARAMS = ("max_tokens", "n", "seed")
_PARAMS_KEYS = frozenset({"model", "prompt", "stream_options", "user", "user_id", *_FLOAT_PARAMS, *_INT_PARAMS})
_PARAMS_DROP = frozenset({"stream", "user_id"})
_CHOICE_KEYS = frozenset({"index", "text", "finish_reason", "logprobs"})
_RESPONSE_KEYS = frozenset({"id", "object", "created", "model", "choices", "usage", "system_fingerprint"})

TEXT_COMPLETION_OBJECT = "text_completion"


def completion_params_from_json(body: Any) -> completion_pb2.CompletionParams:
    """Client request JSON -> params. `stream` is ignored (see `stream_requested`)."""
    d = require_object(body, "")
    model = d.get("model")
    if model is None:
        raise missing("model")
    prompt = d.get("prompt")
    if prompt is None:
        raise missing("prompt")
    params = completion_pb2.CompletionParams(model=check_str(model, "model"))
    kind, value = classify_prompt(prompt, "prompt")
    if kind == "text":
        params.text = value  # type: ignore[assignment]
    elif kind == "texts":
        params.texts.values.extend(value)
        params.texts.SetInParent()
    else:
        params.tokens_json = value  # type: ignore[assignment]
    read_sampling(d, params, _FLOAT_PARAMS, _INT_PARAMS)
    stream_options = d.get("stream_options")
    if stream_options is not None:
        stream_options_from_json(stream_options, params.stream_options)
    params.extra_json = split_extra(d, _PARAMS_KEYS, _PARAMS_DROP)
    return params


def prompt_to_json(params: Any, oneof: str = "prompt") -> Any:
    """The prompt / input union back as JSON (None when unset)."""
    which = params.WhichOneof(oneof)
    if which == "text":
        return params.text
    if which == "texts":
        return list(params.texts.values)
    if which == "tokens_json":
        return loads(params.tokens_json)
    return None


def completion_params_to_json(params: completion_pb2.CompletionParams) -> JsonObject:
    """Params -> upstream request JSON: never `user_id`, never `stream` (the caller adds it)."""
    out: JsonObject = {"model": params.model}
    prompt = prompt_to_json(params)
    if prompt is not None:
        out["prompt"] = prompt
    _write_sampling(params, out, _FLOAT_PARAMS, _INT_PARAMS)
    if params.HasField("stream_options"):
        out["stream_options"] = stream_options_to_json(params.stream_options)
    return merge_extra(out, params.extra_json, _PARAMS_KEYS, "", _PARAMS_DROP)


def completion_from_json(d: Any) -> completion_pb2.Completion:
    """Upstream response or stream-chunk JSON -> Completion (the two share one shape)."""
    body = require_object(d, "")
    completion = completion_pb2.Completion()
    read_header(body, completion)
    choices = body.get("choices")
    for i, item in enumerate([] if choices is None else require_list(choices, "choices")):
        path = f"choices[{i}]"
        c = require_object(item, path)
        index, text, finish = c.get("index"), c.get("text"), c.get("finish_reason")
        logprobs = c.get("logprobs")
        completion.choices.append(
            completion_pb2.CompletionChoice(
                index=0 if index is None else check_int(index, join(path, "index")),
                text="" if text is None else check_str(text, join(path, "text")),
                finish_reason="" if finish is None else check_str(finish, join(path, "finish_reason")),
                logprobs_json="" if logprobs is None else pass_through_text(logprobs, join(path, "logprobs")),
                extra_json=split_extra(c, _CHOICE_KEYS),
            )
        )
    usage = body.get("usage")
    if usage is not None:
        completion.usage.CopyFrom(usage_from_json(usage, "usage"))
    completion.extra_json = split_extra(body, _RESPONSE_KEYS)
    return completion


def completion_to_json(c: completion_pb2.Completion, *, chunk: bool = False) -> JsonObject:
    """Completion -> OpenAI JSON (object "text_completion" for responses and chunks alike). A response always
    has `usage` (zeros when unset); a chunk (`chunk=True`) has it only when set, i.e. on the usage chunk."""
    out = header_to_json(c, TEXT_COMPLETION_OBJECT)
    choices = []
    for i, choice in enumerate(c.choices):
        path = f"choices[{i}]"
        rendered: JsonObject = {
            "text": choice.text,
            "index": choice.index,
            "logprobs": json_text_or_none(choice.logprobs_json, join(path, "logprobs_json")),
            "finish_reason": choice.finish_reason or None,
        }
        choices.append(merge_extra(rendered, choice.extra_json, _CHOICE_KEYS, path))
    out["choices"] = choices
    if c.HasField("usage") or not chunk:
        out["usage"] = usage_to_json(c.usage if c.HasField("usage") else common_pb2.TokenUsage(), "usage")
    if c.HasField("system_fingerprint"):
        out["system_fingerprint"] = c.system_fingerprint
    return merge_extra(out, c.extra_json, _RESPONSE_KEYS, "")
