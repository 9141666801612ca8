"""An Anthropic Message as an OpenAI chat.completion: text blocks joined into `content`, `tool_use` blocks as
`tool_calls` (arguments as JSON text), thinking as `reasoning_content`, stop reasons and usage mapped."""

from __future__ import annotations

import time
from typing import Any, Final

import orjson

from core.providers.base import JSONObject
from core.providers.upstream_errors import malformed

# Anthropic's stop_reason -> OpenAI's finish_reason.
FINISH_REASONS: Final = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: Any) -> str | None:
    if stop_reason is None:
        return None
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def usage_of(usage: Any) -> JSONObject:
    """Anthropic counts cache reads and cache writes apart from `input_tokens`; OpenAI's prompt_tokens is all the
    input, with the cache reads as cached_tokens."""
    usage = usage if isinstance(usage, dict) else {}
    cached = _int(usage.get("cache_read_input_tokens"))
    prompt = _int(usage.get("input_tokens")) + _int(usage.get("cache_creation_input_tokens")) + cached
    completion = _int(usage.get("output_tokens"))
    out: JSONObject = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    if cached:
        out["prompt_tokens_details"] = {"cached_tokens": cached}
    return out


def to_chat_completion(message: JSONObject) -> JSONObject:
    content = message.get("content")
    if message.get("type") != "message" or not isinstance(content, list):
        raise malformed("response (not an Anthropic message)")
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[JSONObject] = []
    for block in content:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(str(block.get("text", "")))
        elif kind == "thinking":
            thinking.append(str(block.get("thinking", "")))
        elif kind == "tool_use":
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": orjson.dumps(block.get("input")).decode()},
                }
            )
    reply: JSONObject = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        reply["tool_calls"] = calls
    if thinking:
        reply["reasoning_content"] = "".join(thinking)
    return {
        "id": message.get("id", ""),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": message.get("model", ""),
        "choices": [{"index": 0, "message": reply, "finish_reason": finish_reason(message.get("stop_reason"))}],
        "usage": usage_of(message.get("usage")),
    }


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
