"""Embeddings: request parameters and the response list (float vectors or base64 strings passed through)."""

from __future__ import annotations

from typing import Any

from aqueduct.v1 import embedding_pb2

from .common import (
    STRING_PARAM_CHECKS,
    CodecError,
    JsonObject,
    check_int,
    check_str,
    classify_prompt,
    join,
    merge_extra,
    missing,
    require_list,
    require_object,
    split_extra,
    usage_from_json,
    usage_to_json,
)
from .completion import prompt_to_json

_PARAMS_KEYS = frozenset({"model", "input", "encoding_format", "dimensions", "user", "user_id"})
_PARAMS_DROP = frozenset({"stream", "user_id"})
_ITEM_KEYS = frozenset({"object", "index", "embedding"})
_LIST_KEYS = frozenset({"object", "data", "model", "usage"})

# OpenAI's documented maximum number of inputs in one embeddings request.
MAX_EMBEDDING_INPUTS = 2048

LIST_OBJECT = "list"
EMBEDDING_OBJECT = "embedding"


def embedding_params_from_json(body: Any) -> embedding_pb2.EmbeddingParams:
    """Client request JSON -> params."""
    d = require_object(body, "")
    model = d.get("model")
    if model is None:
        raise missing("model")
    raw_input = d.get("input")
    if raw_input is None:
        raise missing("input")
    params = embedding_pb2.EmbeddingParams(model=check_str(model, "model"))
    _check_input_count(raw_input)
    kind, value = classify_prompt(raw_input, "input")
    if kind == "text":
        params.text = value  # type: ignore[assignment]
    elif kind == "texts":
        params.texts.values.extend(value)
        params.texts.SetInParent()
    else:
        params.tokens_json = value  # type: ignore[assignment]
    for key in ("encoding_format", "user", "user_id"):
        text = d.get(key)
        if text is not None:
            setattr(params, key, STRING_PARAM_CHECKS[key](text, key))
    dimensions = d.get("dimensions")
    if dimensions is not None:
        params.dimensions = check_int(dimensions, "dimensions")
    params.extra_json = split_extra(d, _PARAMS_KEYS, _PARAMS_DROP)
    return params


def _check_input_count(raw_input: Any) -> None:
    """OpenAI's bound: an array of strings or of token arrays holds at most MAX_EMBEDDING_INPUTS inputs (one
    array of integers is a single input). Checked before anything is converted, so an oversized request costs
    nothing more than its parse."""
    if isinstance(raw_input, list) and len(raw_input) > MAX_EMBEDDING_INPUTS and not isinstance(raw_input[0], int):
        raise CodecError(
            f"Invalid 'input': at most {MAX_EMBEDDING_INPUTS} inputs per request; got {len(raw_input)}.", "input"
        )


def embedding_params_to_json(params: embedding_pb2.EmbeddingParams) -> JsonObject:
    """Params -> upstream request JSON (never `user_id`)."""
    out: JsonObject = {"model": params.model}
    value = prompt_to_json(params, "input")
    if value is not None:
        out["input"] = value
    for key in ("encoding_format", "dimensions", "user"):
        if params.HasField(key):
            out[key] = getattr(params, key)
    return merge_extra(out, params.extra_json, _PARAMS_KEYS, "", _PARAMS_DROP)


def embedding_list_from_json(d: Any) -> embedding_pb2.EmbeddingList:
    """Upstream response JSON -> EmbeddingList."""
    body = require_object(d, "")
    result = embedding_pb2.EmbeddingList()
    model = body.get("model")
    if model is not None:
        result.model = check_str(model, "model")
    data = body.get("data")
    for i, item in enumerate([] if data is None else require_list(data, "data")):
        path = f"data[{i}]"
        e = require_object(item, path)
        index = e.get("index")
        embedding = result.data.add(index=0 if index is None else check_int(index, join(path, "index")))
        vector = e.get("embedding")
        if isinstance(vector, str):
            embedding.base64 = vector
        elif isinstance(vector, list):
            try:
                embedding.floats.values.extend(vector)
            except TypeError:
                raise CodecError(
                    f"Invalid type for '{join(path, 'embedding')}': expected an array of numbers.",
                    join(path, "embedding"),
                ) from None
            embedding.floats.SetInParent()
        elif vector is not None:
            raise CodecError(
                f"Invalid type for '{join(path, 'embedding')}': expected an array of numbers or a base64 string.",
                join(path, "embedding"),
            )
        embedding.extra_json = split_extra(e, _ITEM_KEYS)
    usage = body.get("usage")
    if usage is not None:
        result.usage.CopyFrom(usage_from_json(usage, "usage"))
    result.extra_json = split_extra(body, _LIST_KEYS)
    return result


def embedding_list_to_json(result: embedding_pb2.EmbeddingList) -> JsonObject:
    data = []
    for i, e in enumerate(result.data):
        item: JsonObject = {"object": EMBEDDING_OBJECT, "index": e.index}
        which = e.WhichOneof("embedding")
        if which == "floats":
            item["embedding"] = list(e.floats.values)
        elif which == "base64":
            item["embedding"] = e.base64
        data.append(merge_extra(item, e.extra_json, _ITEM_KEYS, f"data[{i}]"))
    out: JsonObject = {"object": LIST_OBJECT, "data": data, "model": result.model}
    if result.HasField("usage"):
        out["usage"] = usage_to_json(result.usage, "usage", with_completion=False)
    return merge_extra(out, result.extra_json, _LIST_KEYS, "")
