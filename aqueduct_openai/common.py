"""Shared pieces of the OpenAI JSON <-> proto codec: the error type, exact JSON text handling, typed field
readers that name the offending field, the extra_json split/merge, and the usage object."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import orjson
from aqueduct.v1 import common_pb2

JsonObject = dict[str, Any]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# orjson parses integers outside 64 bits as floats (silently losing digits), so text holding an integer of 19+
# digits goes through the stdlib parser, which keeps it exact. The scan maps digits to "0", "." and "e"/"E" to
# themselves and the rest to " ", then looks for " " + 19 zeros: an integer part that long (a fraction's digits
# follow a "." and never match). A regex over the raw text costs ~50 us per KB; this costs ~2.
_SCAN_TABLE = bytes(48 if chr(c).isdigit() and c < 128 else c if c in b".eE" else 32 for c in range(256))
_LONG_RUN = b" " + b"0" * 19
_ZEROS = re.compile(rb"0*")


def _has_long_int(raw: bytes) -> bool:
    scanned = b" " + raw.translate(_SCAN_TABLE)
    start = scanned.find(_LONG_RUN)
    while start != -1:
        end = _ZEROS.match(scanned, start + len(_LONG_RUN)).end()  # type: ignore[union-attr]
        if end == len(scanned) or scanned[end] not in b".eE":
            return True
        start = scanned.find(_LONG_RUN, end)
    return False


class CodecError(ValueError):
    """The JSON does not fit the OpenAI shape. `field` is the dotted path of the offending key (e.g.
    `messages[2].role`), or None when the problem is the document as a whole; `message` names it too."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Parses JSON text exactly (ints stay ints of any size, floats stay floats)."""
    raw = data.encode() if isinstance(data, str) else bytes(data) if not isinstance(data, bytes) else data
    try:
        if not _has_long_int(raw):
            return orjson.loads(raw)
        value = json.loads(raw, parse_constant=_reject_constant)
        # The stdlib accepts lone surrogate escapes ("\ud800") that orjson rejects and UTF-8 cannot carry.
        json.dumps(value, ensure_ascii=False).encode()
        return value
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"The body is not valid JSON: {_short(exc)}") from None


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; falls back to the stdlib for integers orjson cannot encode (beyond 64 bits)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def dumps_text(value: Any) -> str:
    return dumps(value).decode()


# orjson writes at most 254 levels of nesting. A value passed through (unknown keys, tool schemas) is written here
# as if _NESTING_MARGIN levels deeper, so anything accepted still fits when core places it inside an upstream
# body (a few levels down) and writes that: too deep is the client's 400 here, never a 500 later.
_ORJSON_TOO_DEEP = "Recursion limit reached"
_NESTING_MARGIN = 8
MAX_PASS_THROUGH_DEPTH = 254 - _NESTING_MARGIN


def pass_through_text(value: Any, field: str) -> str:
    """JSON text of a value passed through unmodelled, or CodecError when it is nested too deeply."""
    wrapped = value
    for _ in range(_NESTING_MARGIN):
        wrapped = [wrapped]
    try:
        return orjson.dumps(wrapped)[_NESTING_MARGIN:-_NESTING_MARGIN].decode()
    except TypeError as exc:
        # Integers beyond 64 bits: the stdlib writes them, and deeper than orjson would, so measure first.
        if str(exc) != _ORJSON_TOO_DEEP and _depth(value) <= MAX_PASS_THROUGH_DEPTH:
            return dumps_text(value)
    raise CodecError(f"Invalid '{field}': JSON nested more than {MAX_PASS_THROUGH_DEPTH} levels deep.", field)


def _depth(value: Any) -> int:
    """Levels of arrays and objects in a parsed JSON value (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."


# -- paths and type checks ----------------------------------------------------------------------------------


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def type_error(field: str, expected: str, value: Any) -> CodecError:
    return CodecError(f"Invalid type for '{field}': expected {expected}, but got {json_type(value)}.", field)


def missing(field: str) -> CodecError:
    return CodecError(f"Missing required parameter: '{field}'.", field)


def require_object(value: Any, field: str) -> JsonObject:
    if not isinstance(value, dict):
        if not field:
            raise CodecError(f"The body must be a JSON object, but got {json_type(value)}.")
        raise type_error(field, "an object", value)
    return value


def require_list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise type_error(field, "an array", value)
    return value


def check_str(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise type_error(field, "a string", value)
    return value


# `user_id` names the end user behind a service in usage records and reports: bounded and printable, so it is
# stored, grouped and shown in a terminal exactly as given (no NUL for PostgreSQL, no escape sequences, no
# invisible direction marks).
USER_ID_MAX_CHARS = 255


def check_user_id(value: Any, field: str) -> str:
    text = check_str(value, field)
    if len(text) > USER_ID_MAX_CHARS:
        raise CodecError(f"Invalid '{field}': at most {USER_ID_MAX_CHARS} characters are allowed.", field)
    if not text.isprintable():
        raise CodecError(f"Invalid '{field}': control and invisible formatting characters are not allowed.", field)
    return text


# The string parameters of a request and how each is checked.
STRING_PARAM_CHECKS: dict[str, Callable[[Any, str], str]] = {
    "user": check_str,
    "user_id": check_user_id,
    "encoding_format": check_str,
}


def check_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise type_error(field, "an integer", value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise CodecError(f"Invalid value for '{field}': integer out of range.", field)
    return value


def check_float(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise type_error(field, "a number", value)
    return float(value)


def check_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise type_error(field, "a boolean", value)
    return value


# -- extra_json -----------------------------------------------------------------------------------------------


def is_placeholder(value: Any) -> bool:
    """null, [] or {}: what a typed key may carry in extra_json to keep the round trip exact."""
    return value is None or ((isinstance(value, (list, dict))) and not value)


def split_extra(d: Mapping[str, Any], typed: frozenset[str], drop: frozenset[str] = frozenset()) -> str:
    """The keys of `d` the proto does not model, as JSON object text ("" when there are none).

    A typed key whose value is null / [] / {} is kept here too: the proto cannot tell it from absent, and
    keeping the literal makes `to_json(from_json(x)) == x`. Keys in `drop` are neither typed nor kept."""
    extra: JsonObject | None = None
    for key, value in d.items():
        if key in drop:
            continue
        # Inlined is_placeholder: this runs for every key of every request.
        if key in typed and (value or (value is not None and not isinstance(value, (list, dict)))):
            continue
        if extra is None:
            extra = {}
        extra[key] = value
    return pass_through_text(extra, _first_key(extra)) if extra else ""


def _first_key(extra: JsonObject) -> str:
    """The field an error about pass-through keys names: the only one, or the first."""
    return next(iter(extra))


def merge_extra(
    out: JsonObject, extra_json: str, typed: frozenset[str], path: str, drop: frozenset[str] = frozenset()
) -> JsonObject:
    """Adds the keys of `extra_json` to `out`. A typed key may appear there only as a null/[]/{} placeholder,
    which yields to a typed value; any other typed key is a collision and an error."""
    if not extra_json:
        return out
    for key, value in _extra_items(extra_json, path):
        if key in drop:
            continue
        if key in typed:
            if not is_placeholder(value):
                field = join(path, "extra_json")
                raise CodecError(
                    f"Invalid value for '{field}': key '{key}' is a typed field and may not be set in extra_json.",
                    join(path, key),
                )
            if key in out:
                continue
        out[key] = value
    return out


def has_field(message: Any, name: str) -> bool:
    """Whether `message`'s type declares field `name` (cached per type: descriptor lookups cost per call)."""
    kind = type(message)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = frozenset(message.DESCRIPTOR.fields_by_name)
    return name in names


_FIELD_NAMES: dict[type, frozenset[str]] = {}


# Parsed extra_json texts whose values are all immutable scalars, so the parsed values can be shared between
# outputs. Streams repeat the same few texts on every chunk (e.g. `{"logprobs":null}`); parsing costs more than
# the lookup. Bounded: short texts only, and cleared when full.
_EXTRA_CACHE: dict[str, tuple[tuple[str, Any], ...]] = {}
_EXTRA_CACHE_MAX_ENTRIES = 512
_EXTRA_CACHE_MAX_TEXT = 256
_SCALARS = (str, int, float, bool, type(None))


def _extra_items(extra_json: str, path: str) -> tuple[tuple[str, Any], ...]:
    cached = _EXTRA_CACHE.get(extra_json)
    if cached is not None:
        return cached
    try:
        extra = loads(extra_json)
    except CodecError:
        field = join(path, "extra_json")
        raise CodecError(f"Invalid value for '{field}': not valid JSON.", field) from None
    if not isinstance(extra, dict):
        field = join(path, "extra_json")
        raise CodecError(f"Invalid value for '{field}': expected a JSON object.", field)
    items = tuple(extra.items())
    if len(extra_json) <= _EXTRA_CACHE_MAX_TEXT and all(isinstance(v, _SCALARS) for _, v in items):
        if len(_EXTRA_CACHE) >= _EXTRA_CACHE_MAX_ENTRIES:
            _EXTRA_CACHE.clear()
        _EXTRA_CACHE[extra_json] = items
    return items


def json_text_or_none(text: str, field: str) -> Any:
    """A `*_json` field rendered back: "" is null."""
    if not text:
        return None
    try:
        return loads(text)
    except CodecError:
        raise CodecError(f"Invalid value for '{field}': not valid JSON.", field) from None


# -- usage ------------------------------------------------------------------------------------------------------

_USAGE_KEYS = frozenset({"prompt_tokens", "completion_tokens", "total_tokens"})


def _opt_count(d: Mapping[str, Any], key: str, path: str) -> int:
    value = d.get(key)
    return 0 if value is None else check_int(value, join(path, key))


def usage_from_json(value: Any, path: str) -> common_pb2.TokenUsage:
    d = require_object(value, path)
    return common_pb2.TokenUsage(
        prompt_tokens=_opt_count(d, "prompt_tokens", path),
        completion_tokens=_opt_count(d, "completion_tokens", path),
        total_tokens=_opt_count(d, "total_tokens", path),
        extra_json=split_extra(d, _USAGE_KEYS),
    )


def usage_to_json(usage: common_pb2.TokenUsage, path: str, *, with_completion: bool = True) -> JsonObject:
    """OpenAI's usage object. `estimated` is Aqueduct-internal and never rendered. Embeddings usage has no
    completion_tokens (`with_completion=False`) unless it is non-zero."""
    out: JsonObject = {"prompt_tokens": usage.prompt_tokens}
    if with_completion or usage.completion_tokens:
        out["completion_tokens"] = usage.completion_tokens
    out["total_tokens"] = usage.total_tokens
    return merge_extra(out, usage.extra_json, _USAGE_KEYS, path)


# -- prompts and inputs (legacy completions, embeddings) ----------------------------------------------------------


def classify_prompt(value: Any, field: str) -> tuple[str, str | list[str]]:
    """A prompt/input union: ("text", s), ("texts", [s, ...]) or ("tokens_json", json text of the int arrays)."""
    if isinstance(value, str):
        return "text", value
    items = require_list(value, field)
    if all(isinstance(item, str) for item in items):
        return "texts", items
    if all(isinstance(item, int) and not isinstance(item, bool) for item in items):
        for i, item in enumerate(items):
            check_int(item, f"{field}[{i}]")
        return "tokens_json", dumps_text(items)
    for i, item in enumerate(items):
        if not isinstance(item, list):
            raise type_error(f"{field}[{i}]", "a string, an integer or an array of integers", item)
        for j, token in enumerate(item):
            check_int(token, f"{field}[{i}][{j}]")
    return "tokens_json", dumps_text(items)
