"""An OpenAI chat request as an Anthropic Messages API request (`POST /v1/messages`).

System and developer messages become the top-level `system` blocks; tool calls become `tool_use` blocks and
tool messages `tool_result` blocks in a user turn; images (data: URLs or https URLs) become `image` blocks;
consecutive messages of one role are merged into one turn, as the Messages API wants. `max_tokens`, required
there, comes from the request (max_completion_tokens or max_tokens), else the deployment's default.

What the Messages API cannot do is refused with a 400 naming the parameter, or left out when the deployment
has drop_params. Keys this module does not know pass through unchanged, so Anthropic's own parameters
(`top_k`, `thinking`, ...) can be sent through the OpenAI SDK's extra_body."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final

import orjson

from core.errors import InvalidRequest
from core.providers.base import JSONObject

# OpenAI parameters with no Messages API equivalent (a value that asks for nothing, e.g. n=1, is accepted).
UNSUPPORTED: Final = frozenset(
    {
        "n",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "seed",
        "response_format",
        "audio",
        "modalities",
        "prediction",
        "reasoning_effort",
        "service_tier",
        "store",
        "metadata",
        "web_search_options",
        "verbosity",
        "functions",
        "function_call",
    }
)
# Translated below, or meaningless upstream (the gateway asks for usage itself; Anthropic always sends it).
_HANDLED: Final = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "stream_options",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "user",
        "safety_identifier",
    }
)
_DATA_URL = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)", re.DOTALL)


class Unsupported(InvalidRequest):
    """A request parameter or content the Messages API cannot take (400)."""


def to_messages_request(body: JSONObject, *, model: str, max_tokens: int, drop_params: bool, public: str) -> JSONObject:
    """The Messages API body for an OpenAI chat `body`. `public` is the model name the caller used (for
    messages); raises Unsupported (400)."""
    out: JSONObject = {"model": model}
    for key, value in body.items():
        if key in _HANDLED or not _asks_for_something(key, value):
            continue
        if key in UNSUPPORTED:
            if drop_params:
                continue
            raise Unsupported(
                f"The model `{public}` (Anthropic) does not support `{key}`; remove it, or set drop_params: true "
                "for this model to have the gateway drop it.",
                field=key,
            )
        out[key] = value  # an Anthropic parameter passed through (top_k, thinking, ...)
    system, messages = _conversation(body.get("messages"))
    if system:
        out["system"] = system
    out["messages"] = messages
    out["max_tokens"] = _max_tokens(body) or max_tokens
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    stop = body.get("stop")
    if isinstance(stop, str):
        out["stop_sequences"] = [stop]
    elif isinstance(stop, list) and stop:
        out["stop_sequences"] = stop
    if body.get("stream"):
        out["stream"] = True
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        out["tools"] = [_tool(t, i) for i, t in enumerate(tools)]
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None:
        out["tool_choice"] = choice
    return out


def _asks_for_something(key: str, value: Any) -> bool:
    """False for values that ask for the default (n=1, logprobs=false, a text response format, ...)."""
    if value is None:
        return False
    if key == "n":
        return bool(value != 1)
    if key in ("logprobs", "store"):
        return value is not False
    if key == "response_format":
        return not (isinstance(value, dict) and value.get("type") == "text")
    if key == "modalities":
        return bool(value != ["text"])
    if key == "service_tier":
        return value not in ("auto", "default")
    if key == "metadata":
        return bool(value)
    return True


def _max_tokens(body: JSONObject) -> int | None:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _conversation(raw: Any) -> tuple[list[JSONObject], list[JSONObject]]:
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest("`messages` must be a non-empty list.", field="messages")
    system: list[JSONObject] = []
    turns: list[JSONObject] = []
    for i, message in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise InvalidRequest(f"`{where}` must be an object.", field=where)
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_text_blocks(message.get("content"), where))
            continue
        if role == "user":
            blocks = _user_blocks(message.get("content"), where)
        elif role == "assistant":
            blocks = _assistant_blocks(message, where)
        elif role == "tool":
            role = "user"
            blocks = [_tool_result(message, where)]
        else:
            raise Unsupported(f"`{where}.role` {role!r} is not supported for Anthropic models.", field=where)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    if not turns:
        raise InvalidRequest("Anthropic models need at least one user or assistant message.", field="messages")
    return system, turns


def _text_blocks(content: Any, where: str) -> list[JSONObject]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        return []
    blocks = []
    for j, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text":
            raise Unsupported(f"`{where}.content[{j}]`: only text parts are supported here.", field=where)
        blocks.append(_with_cache_control({"type": "text", "text": part.get("text", "")}, part))
    return [b for b in blocks if b["text"]]


def _user_blocks(content: Any, where: str) -> list[JSONObject]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        return []
    blocks: list[JSONObject] = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if part.get("text"):
                blocks.append(_with_cache_control({"type": "text", "text": part["text"]}, part))
        elif kind == "image_url":
            blocks.append(_with_cache_control(_image(part.get("image_url"), f"{where}.content[{j}]"), part))
        else:
            raise Unsupported(
                f"`{where}.content[{j}]`: content of type {kind!r} is not supported for Anthropic models.",
                field=f"{where}.content",
            )
    return blocks


def _image(image_url: Any, where: str) -> JSONObject:
    url = image_url.get("url") if isinstance(image_url, dict) else image_url
    if not isinstance(url, str) or not url:
        raise InvalidRequest(f"`{where}.image_url.url` is required.", field=where)
    match = _DATA_URL.fullmatch(url)
    if match:
        data = match.group("data")
        try:
            base64.b64decode(data[:64] + "=" * (-len(data[:64]) % 4), validate=True)
        except binascii.Error:
            raise InvalidRequest(f"`{where}.image_url.url` is not valid base64 data.", field=where) from None
        return {"type": "image", "source": {"type": "base64", "media_type": match.group("type"), "data": data}}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise InvalidRequest(f"`{where}.image_url.url` must be an http(s) URL or a base64 data: URL.", field=where)


def _assistant_blocks(message: JSONObject, where: str) -> list[JSONObject]:
    blocks = _text_blocks(message.get("content"), where)
    for k, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not call.get("id"):
            raise InvalidRequest(f"`{where}.tool_calls[{k}]` needs an id and a function.", field=where)
        try:
            arguments = orjson.loads(function.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            raise InvalidRequest(
                f"`{where}.tool_calls[{k}].function.arguments` is not JSON (Anthropic needs an object).", field=where
            ) from None
        blocks.append({"type": "tool_use", "id": call["id"], "name": function.get("name", ""), "input": arguments})
    return blocks


def _tool_result(message: JSONObject, where: str) -> JSONObject:
    tool_call_id = message.get("tool_call_id")
    if not isinstance(tool_call_id, str) or not tool_call_id:
        raise InvalidRequest(f"`{where}.tool_call_id` is required for a tool message.", field=where)
    content = message.get("content")
    result: JSONObject = {"type": "tool_result", "tool_use_id": tool_call_id}
    if isinstance(content, str):
        result["content"] = content
    elif isinstance(content, list):
        result["content"] = _text_blocks(content, where)
    return result


def _tool(tool: Any, index: int) -> JSONObject:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
        raise Unsupported(f"`tools[{index}]`: only function tools are supported for Anthropic models.", field="tools")
    out: JSONObject = {
        "name": function.get("name", ""),
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = function["description"]
    return _with_cache_control(out, tool)


def _tool_choice(choice: Any, parallel: Any) -> JSONObject | None:
    out: JSONObject | None
    if choice is None:
        out = None
    elif choice == "auto":
        out = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        out = {"type": "tool", "name": choice["function"].get("name", "")}
    else:
        raise InvalidRequest("`tool_choice` is not one OpenAI defines.", field="tool_choice")
    if parallel is False:
        out = {**(out or {"type": "auto"}), "disable_parallel_tool_use": True}
    return out


def _with_cache_control(block: JSONObject, source: JSONObject) -> JSONObject:
    """Anthropic's prompt-caching marker rides along when the caller set it (LiteLLM passes it the same way)."""
    if isinstance(source.get("cache_control"), dict):
        block["cache_control"] = source["cache_control"]
    return block
