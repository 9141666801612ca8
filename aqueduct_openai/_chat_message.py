"""Chat messages, content parts, tools and tool calls: the nested pieces of chat requests and responses.

ImageUrl, FunctionDefinition and FunctionCall have no extra_json of their own; when one of those objects
carries a key the proto does not model, the whole object stays in the parent's extra_json (lossless, though
core then does not see it typed). A null inside them means absent."""

from __future__ import annotations

from typing import Any

from aqueduct.v1 import chat_pb2

from .common import (
    CodecError,
    JsonObject,
    check_int,
    check_str,
    join,
    loads,
    merge_extra,
    pass_through_text,
    require_list,
    require_object,
    split_extra,
    type_error,
)

ROLE_BY_NAME: dict[str, chat_pb2.ChatRole.ValueType] = {
    "system": chat_pb2.CHAT_ROLE_SYSTEM,
    "developer": chat_pb2.CHAT_ROLE_DEVELOPER,
    "user": chat_pb2.CHAT_ROLE_USER,
    "assistant": chat_pb2.CHAT_ROLE_ASSISTANT,
    "tool": chat_pb2.CHAT_ROLE_TOOL,
    "function": chat_pb2.CHAT_ROLE_FUNCTION,
}
ROLE_NAMES: dict[int, str] = {value: name for name, value in ROLE_BY_NAME.items()}

_MESSAGE_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id", "refusal"})
_PART_KEYS = frozenset({"type", "text", "image_url"})
_TOOL_KEYS = frozenset({"type", "function"})
_TOOL_CALL_KEYS = frozenset({"index", "id", "type", "function"})
# The same minus the sub-object that did not fit its proto message and so travels in extra_json.
_PART_KEYS_LOOSE = _PART_KEYS - {"image_url"}
_TOOL_KEYS_LOOSE = _TOOL_KEYS - {"function"}
_TOOL_CALL_KEYS_LOOSE = _TOOL_CALL_KEYS - {"function"}
_IMAGE_URL_KEYS = frozenset({"url", "detail"})
_FUNCTION_DEF_KEYS = frozenset({"name", "description", "parameters", "strict"})
_FUNCTION_CALL_KEYS = frozenset({"name", "arguments"})


def _opt_str(d: JsonObject, key: str, path: str) -> str | None:
    value = d.get(key)
    return None if value is None else check_str(value, join(path, key))


# -- sub-objects without extra_json: typed when they fit, else left whole in the parent's extra ------------------


def _image_url_fits(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.keys() <= _IMAGE_URL_KEYS
        and isinstance(value.get("url"), str)
        and isinstance(value.get("detail", ""), str)
    )


def _function_def_from_json(value: Any, path: str) -> chat_pb2.FunctionDefinition | None:
    if not isinstance(value, dict) or not value.keys() <= _FUNCTION_DEF_KEYS:
        return None
    name, description = value.get("name"), value.get("description")
    parameters, strict = value.get("parameters"), value.get("strict")
    if not isinstance(name, str) or not isinstance(description, (str, type(None))):
        return None
    if not isinstance(parameters, (dict, type(None))) or not isinstance(strict, (bool, type(None))):
        return None
    return chat_pb2.FunctionDefinition(
        name=name,
        description=description,
        parameters_json="" if parameters is None else pass_through_text(parameters, join(path, "parameters")),
        strict=strict,
    )


def _function_call_from_json(value: Any) -> chat_pb2.FunctionCall | None:
    if not isinstance(value, dict) or not value.keys() <= _FUNCTION_CALL_KEYS:
        return None
    name, arguments = value.get("name"), value.get("arguments")
    if not isinstance(name, (str, type(None))) or not isinstance(arguments, (str, type(None))):
        return None
    return chat_pb2.FunctionCall(name=name, arguments=arguments)


# -- content parts ------------------------------------------------------------------------------------------------


def part_from_json(value: Any, path: str) -> chat_pb2.ContentPart:
    d = require_object(value, path)
    part_type = d.get("type")
    if part_type is None:
        raise CodecError(f"Missing required parameter: '{join(path, 'type')}'.", join(path, "type"))
    part = chat_pb2.ContentPart(type=check_str(part_type, join(path, "type")), text=_opt_str(d, "text", path))
    image_url = d.get("image_url")
    if image_url is not None and _image_url_fits(image_url):
        part.image_url.url = image_url["url"]
        part.image_url.detail = image_url.get("detail", "")
        part.extra_json = split_extra(d, _PART_KEYS)
    else:
        part.extra_json = split_extra(d, _PART_KEYS_LOOSE)
    return part


def part_to_json(part: chat_pb2.ContentPart, path: str) -> JsonObject:
    out: JsonObject = {"type": part.type}
    if part.HasField("text"):
        out["text"] = part.text
    if part.HasField("image_url"):
        image: JsonObject = {"url": part.image_url.url}
        if part.image_url.detail:
            image["detail"] = part.image_url.detail
        out["image_url"] = image
    return merge_extra(out, part.extra_json, _PART_KEYS if "image_url" in out else _PART_KEYS_LOOSE, path)


# -- tools ----------------------------------------------------------------------------------------------------------


def tool_from_json(value: Any, path: str) -> chat_pb2.Tool:
    d = require_object(value, path)
    tool_type = d.get("type")
    if tool_type is None:
        raise CodecError(f"Missing required parameter: '{join(path, 'type')}'.", join(path, "type"))
    tool = chat_pb2.Tool(type=check_str(tool_type, join(path, "type")))
    function = _function_def_from_json(d.get("function"), join(path, "function"))
    if function is not None:
        tool.function.CopyFrom(function)
        tool.extra_json = split_extra(d, _TOOL_KEYS)
    else:
        tool.extra_json = split_extra(d, _TOOL_KEYS_LOOSE)
    return tool


def tool_to_json(tool: chat_pb2.Tool, path: str) -> JsonObject:
    out: JsonObject = {"type": tool.type}
    if tool.HasField("function"):
        f = tool.function
        function: JsonObject = {"name": f.name}
        if f.HasField("description"):
            function["description"] = f.description
        if f.parameters_json:
            function["parameters"] = loads(f.parameters_json)
        if f.HasField("strict"):
            function["strict"] = f.strict
        out["function"] = function
    return merge_extra(out, tool.extra_json, _TOOL_KEYS if "function" in out else _TOOL_KEYS_LOOSE, path)


def tool_call_from_json(value: Any, path: str) -> chat_pb2.ToolCall:
    d = require_object(value, path)
    index = d.get("index")
    call = chat_pb2.ToolCall(
        index=None if index is None else check_int(index, join(path, "index")),
        id=_opt_str(d, "id", path),
        type=_opt_str(d, "type", path),
    )
    raw_function = d.get("function")
    function = _function_call_from_json(raw_function) if raw_function is not None else None
    if function is not None:
        call.function.CopyFrom(function)
        call.extra_json = split_extra(d, _TOOL_CALL_KEYS)
    else:
        call.extra_json = split_extra(d, _TOOL_CALL_KEYS_LOOSE)
    return call


def tool_call_to_json(call: chat_pb2.ToolCall, path: str) -> JsonObject:
    out: JsonObject = {}
    if call.HasField("index"):
        out["index"] = call.index
    if call.HasField("id"):
        out["id"] = call.id
    if call.HasField("type"):
        out["type"] = call.type
    if call.HasField("function"):
        function: JsonObject = {}
        if call.function.HasField("name"):
            function["name"] = call.function.name
        if call.function.HasField("arguments"):
            function["arguments"] = call.function.arguments
        out["function"] = function
    typed = _TOOL_CALL_KEYS if "function" in out else _TOOL_CALL_KEYS_LOOSE
    return merge_extra(out, call.extra_json, typed, path)


# -- messages ---------------------------------------------------------------------------------------------------------


def message_from_json(value: Any, path: str, *, require_role: bool) -> chat_pb2.ChatMessage:
    """A request message (`require_role`), a choice's message, or a stream delta."""
    message = chat_pb2.ChatMessage()
    message_into(message, value, path, require_role=require_role)
    return message


def message_into(message: chat_pb2.ChatMessage, value: Any, path: str, *, require_role: bool) -> None:
    """message_from_json into an existing (empty) message, e.g. a choice's delta, which it marks present even
    when `value` is {}: the same as CopyFrom of a fresh message, without building and copying one."""
    d = require_object(value, path)
    message.SetInParent()
    role = d.get("role")
    if role is None:
        if require_role:
            raise CodecError(f"Missing required parameter: '{join(path, 'role')}'.", join(path, "role"))
    else:
        role_field = join(path, "role")
        role_value = ROLE_BY_NAME.get(check_str(role, role_field))
        if role_value is None:
            raise CodecError(
                f"Invalid value for '{role_field}': unknown role '{role}'; expected one of "
                f"{', '.join(repr(name) for name in ROLE_BY_NAME)}.",
                role_field,
            )
        message.role = role_value
    content = d.get("content")
    if isinstance(content, str):
        message.text = content
    elif isinstance(content, list):
        content_field = join(path, "content")
        parts = message.parts.parts
        for i, item in enumerate(content):
            parts.append(part_from_json(item, f"{content_field}[{i}]"))
        if not content:
            message.parts.SetInParent()
    elif content is not None:
        raise type_error(join(path, "content"), "a string or an array of content parts", content)
    for key in ("name", "tool_call_id", "refusal"):
        text = _opt_str(d, key, path)
        if text is not None:
            setattr(message, key, text)
    tool_calls = d.get("tool_calls")
    if tool_calls is not None:
        calls_field = join(path, "tool_calls")
        for i, item in enumerate(require_list(tool_calls, calls_field)):
            message.tool_calls.append(tool_call_from_json(item, f"{calls_field}[{i}]"))
    message.extra_json = split_extra(d, _MESSAGE_KEYS)


def message_to_json(message: chat_pb2.ChatMessage, path: str) -> JsonObject:
    # One ListFields() call instead of a HasField/WhichOneof per key: this runs for every chunk of every
    # stream. It lists exactly the fields HasField reports (oneof members and `optional` ones even when empty,
    # other scalars when non-default, repeated ones when non-empty).
    fields = {f.name: v for f, v in message.ListFields()}
    out: JsonObject = {}
    role = fields.get("role", 0)
    if role:
        out["role"] = ROLE_NAMES.get(role, "assistant")
    if "text" in fields:
        out["content"] = fields["text"]
    elif "parts" in fields:
        content_field = join(path, "content")
        out["content"] = [part_to_json(p, f"{content_field}[{i}]") for i, p in enumerate(message.parts.parts)]
    elif role == chat_pb2.CHAT_ROLE_ASSISTANT and "tool_calls" in fields:
        out["content"] = None
    if "refusal" in fields:
        out["refusal"] = fields["refusal"]
    if "name" in fields:
        out["name"] = fields["name"]
    if "tool_calls" in fields:
        calls_field = join(path, "tool_calls")
        out["tool_calls"] = [tool_call_to_json(c, f"{calls_field}[{i}]") for i, c in enumerate(message.tool_calls)]
    if "tool_call_id" in fields:
        out["tool_call_id"] = fields["tool_call_id"]
    return merge_extra(out, fields.get("extra_json", ""), _MESSAGE_KEYS, path)
