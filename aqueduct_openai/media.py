"""Speech and image generation: request parameters, and the images response (b64 images passed as strings).

Speech answers are audio bytes (or the upstream's SSE bytes) that are never parsed, so only the request is
modelled. A custom voice object (`{"id": "voice_..."}`) is not a typed string and passes through in
extra_json."""

from __future__ import annotations

from typing import Any

from aqueduct.v1 import media_pb2

from .common import (
    CodecError,
    JsonObject,
    check_float,
    check_int,
    check_str,
    check_user_id,
    join,
    merge_extra,
    missing,
    require_list,
    require_object,
    split_extra,
)

_SPEECH_STRINGS = ("voice", "instructions", "response_format", "stream_format")
_SPEECH_KEYS = frozenset({"model", "input", *_SPEECH_STRINGS, "speed", "user_id"})
_IMAGE_STRINGS = ("size", "quality", "style", "background", "output_format", "response_format", "user")
_IMAGE_KEYS = frozenset({"model", "prompt", "n", *_IMAGE_STRINGS, "user_id"})
_DROP = frozenset({"user_id"})
_IMAGE_ITEM_KEYS = frozenset({"b64_json", "url", "revised_prompt"})
_IMAGES_KEYS = frozenset({"created", "data", "usage"})
_IMAGE_USAGE_KEYS = frozenset({"input_tokens", "output_tokens", "total_tokens"})


def speech_params_from_json(body: Any) -> media_pb2.SpeechParams:
    """Client request JSON -> params."""
    d = require_object(body, "")
    for key in ("model", "input"):
        if d.get(key) is None:
            raise missing(key)
    params = media_pb2.SpeechParams(model=check_str(d["model"], "model"), input=check_str(d["input"], "input"))
    typed = set(_SPEECH_KEYS)
    for key in _SPEECH_STRINGS:
        value = d.get(key)
        if key == "voice" and isinstance(value, dict):
            typed.discard("voice")  # a custom voice object, passed through
        elif value is not None:
            setattr(params, key, check_str(value, key))
    if d.get("speed") is not None:
        params.speed = check_float(d["speed"], "speed")
    if d.get("user_id") is not None:
        params.user_id = check_user_id(d["user_id"], "user_id")
    params.extra_json = split_extra(d, frozenset(typed), _DROP)
    return params


def speech_params_to_json(params: media_pb2.SpeechParams) -> JsonObject:
    """Params -> upstream request JSON (never `user_id`)."""
    out: JsonObject = {"model": params.model, "input": params.input}
    for key in ("voice", "instructions", "response_format", "stream_format", "speed"):
        if params.HasField(key):
            out[key] = getattr(params, key)
    typed = _SPEECH_KEYS if params.HasField("voice") else _SPEECH_KEYS - {"voice"}
    return merge_extra(out, params.extra_json, typed, "", _DROP)


def image_params_from_json(body: Any) -> media_pb2.ImageGenerationParams:
    """Client request JSON -> params."""
    d = require_object(body, "")
    for key in ("model", "prompt"):
        if d.get(key) is None:
            raise missing(key)
    params = media_pb2.ImageGenerationParams(
        model=check_str(d["model"], "model"), prompt=check_str(d["prompt"], "prompt")
    )
    for key in _IMAGE_STRINGS:
        if d.get(key) is not None:
            setattr(params, key, check_str(d[key], key))
    if d.get("n") is not None:
        params.n = check_int(d["n"], "n")
    if d.get("user_id") is not None:
        params.user_id = check_user_id(d["user_id"], "user_id")
    params.extra_json = split_extra(d, _IMAGE_KEYS, _DROP)
    return params


def image_params_to_json(params: media_pb2.ImageGenerationParams) -> JsonObject:
    """Params -> upstream request JSON (never `user_id`)."""
    out: JsonObject = {"model": params.model, "prompt": params.prompt}
    for key in ("n", "size", "quality", "style", "background", "output_format", "response_format", "user"):
        if params.HasField(key):
            out[key] = getattr(params, key)
    return merge_extra(out, params.extra_json, _IMAGE_KEYS, "", _DROP)


def images_response_from_json(value: Any, into: media_pb2.ImagesResponse | None = None) -> media_pb2.ImagesResponse:
    """Upstream response JSON -> ImagesResponse, filled into `into` when given (e.g. the field of the RPC's
    response: assigning a message of several MB to a field would copy it)."""
    body = require_object(value, "")
    result = media_pb2.ImagesResponse() if into is None else into
    if body.get("created") is not None:
        result.created = check_int(body["created"], "created")
    data = body.get("data")
    for i, item in enumerate([] if data is None else require_list(data, "data")):
        path = f"data[{i}]"
        obj = require_object(item, path)
        image = result.data.add()
        for key in _IMAGE_ITEM_KEYS:
            if obj.get(key) is not None:
                setattr(image, key, check_str(obj[key], join(path, key)))
        image.extra_json = split_extra(obj, _IMAGE_ITEM_KEYS)
    usage = body.get("usage")
    if usage is not None:
        u = require_object(usage, "usage")
        for key in _IMAGE_USAGE_KEYS:
            if u.get(key) is not None:
                setattr(result.usage, key, check_int(u[key], join("usage", key)))
        result.usage.extra_json = split_extra(u, _IMAGE_USAGE_KEYS)
        result.usage.SetInParent()
    result.extra_json = split_extra(body, _IMAGES_KEYS)
    return result


def images_response_to_json(result: media_pb2.ImagesResponse) -> JsonObject:
    data = []
    for i, image in enumerate(result.data):
        item: JsonObject = {}
        for key in ("b64_json", "url", "revised_prompt"):
            if image.HasField(key):
                item[key] = getattr(image, key)
        data.append(merge_extra(item, image.extra_json, _IMAGE_ITEM_KEYS, f"data[{i}]"))
    out: JsonObject = {"created": result.created, "data": data}
    if result.HasField("usage"):
        u = result.usage
        usage: JsonObject = {
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "total_tokens": u.total_tokens,
        }
        out["usage"] = merge_extra(usage, u.extra_json, _IMAGE_USAGE_KEYS, "usage")
    return merge_extra(out, result.extra_json, _IMAGES_KEYS, "")


def reject_image_stream(body: Any) -> None:
    """Streamed image generation (partial images) is not offered: a clear 400 instead of a broken stream."""
    if isinstance(body, dict) and body.get("stream") is True:
        raise CodecError("Streaming image generation is not supported by this gateway; omit 'stream'.", "stream")
