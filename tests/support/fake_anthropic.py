"""A loopback stand-in for Anthropic's Messages API that checks what it receives against the public API
reference (docs.anthropic.com / platform.claude.com: "Messages", "Streaming Messages", "Errors"):

- `POST /v1/messages` only; `x-api-key` must be the configured key (else 401 authentication_error) and
  `anthropic-version` must be present (else 400), `content-type: application/json`.
- The body: `model`, `max_tokens` (required, >= 1) and `messages` (user/assistant turns whose content is a
  string or a list of text / image / tool_use / tool_result blocks; a tool_result must answer a tool_use of the
  assistant turn before it); `system` a string or text blocks; `tools` with `name` and `input_schema`;
  `tool_choice` auto/any/tool/none; `stop_sequences`; temperature in [0, 1]. Any other top-level key is refused
  with 400 ("extra inputs are not permitted"), as the real API does: so an OpenAI-only parameter that leaks
  through (`n`, `stream_options`, `user`, ...) fails the test.
- Errors are `{"type": "error", "error": {"type", "message"}, "request_id"}` with the documented statuses;
  `fail_next()` scripts one (e.g. 429 with `retry-after`, 529 overloaded_error).
- Streams are named SSE events: message_start, content_block_start, ping, content_block_delta,
  content_block_stop, message_delta, message_stop (and `error` when scripted mid-stream).

What it answers is derived from the request: "echo: <last user text>" (cut at max_tokens words, or at a stop
sequence), a tool_use for a forced tool (tool_choice any/tool), "result: <text>" after a tool_result, and
"images: N" when the last user turn had images."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

VERSION = "2023-06-01"
ALLOWED_KEYS = frozenset(
    {
        "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature",
        "top_p", "top_k", "tools", "tool_choice", "thinking", "service_tier",
    }
)  # fmt: skip
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
STATUS_OF = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


class Invalid(Exception):
    pass


@dataclass
class Scripted:
    error_type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    mid_stream: bool = False  # streams: the error comes as an `event: error` after the first text delta
    cut: bool = False  # streams: the body ends after the first text delta, without message_stop


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class FakeAnthropic:
    def __init__(self, api_key: str = "sk-ant-test") -> None:
        self.api_key = api_key
        self.received: list[Received] = []
        self._script: list[Scripted] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "DELETE"])])

    def fail_next(self, error_type: str, message: str, *, mid_stream: bool = False, **headers: str) -> None:
        self._script.append(
            Scripted(error_type, message, {k.replace("_", "-"): v for k, v in headers.items()}, mid_stream)
        )

    def cut_next_stream(self) -> None:
        self._script.append(Scripted("api_error", "", mid_stream=True, cut=True))

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        self.received.append(Received(request.url.path, dict(request.headers), body))
        if request.url.path != "/v1/messages":
            return error("not_found_error", f"Not found: {request.url.path}")
        if request.method != "POST":
            return error("invalid_request_error", f"Method {request.method} not allowed")
        if request.headers.get("x-api-key") != self.api_key:
            return error("authentication_error", "invalid x-api-key")
        if request.headers.get("anthropic-version") != VERSION:
            return error("invalid_request_error", "anthropic-version header is required")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return error("invalid_request_error", "content-type must be application/json")
        try:
            check_request(body)
        except Invalid as exc:
            return error("invalid_request_error", str(exc))
        scripted = self._script.pop(0) if self._script else None
        if scripted is not None and not (scripted.mid_stream and body.get("stream")):
            return error(scripted.error_type, scripted.message, scripted.headers)
        message = answer(body)
        if body.get("stream"):
            return StreamingResponse(events(message, scripted), media_type="text/event-stream")
        return JSONResponse(message, headers={"request-id": "req_fake"})


def error(error_type: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": "req_fake"}
    return JSONResponse(body, status_code=STATUS_OF[error_type], headers=headers)


# -- the request as the API reference describes it ------------------------------------------------------------


def check_request(body: Any) -> None:
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    extra = set(body) - ALLOWED_KEYS
    if extra:
        raise Invalid(f"{sorted(extra)[0]}: Extra inputs are not permitted")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise Invalid("model: Field required")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise Invalid("max_tokens: Field required")
    temperature = body.get("temperature")
    if temperature is not None and not 0 <= temperature <= 1:
        raise Invalid("temperature: Input should be less than or equal to 1")
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        for block in _list(system, "system"):
            _text_block(block, "system")
    stops = body.get("stop_sequences")
    if stops is not None and not all(isinstance(s, str) for s in _list(stops, "stop_sequences")):
        raise Invalid("stop_sequences: Input should be a list of strings")
    tools = {t.get("name") for t in _list(body.get("tools", []), "tools") if _tool(t)}
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            raise Invalid("tool_choice: Input tag does not match any of the expected tags")
        if choice["type"] == "tool" and choice.get("name") not in tools:
            raise Invalid(f"tool_choice: Tool '{choice.get('name')}' not found in provided tools")
    messages = _list(body.get("messages"), "messages")
    if not messages:
        raise Invalid("messages: at least one message is required")
    previous_tool_uses: set[str] = set()
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise Invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else _list(content, "content")
        uses: set[str] = set()
        for j, block in enumerate(blocks):
            _content_block(block, message["role"], f"messages.{i}.content.{j}", previous_tool_uses, uses)
        if any(isinstance(b, dict) and b.get("type") in ("tool_use", "tool_result") for b in blocks) and not tools:
            raise Invalid("Requests which include `tool_use` or `tool_result` blocks must define tools.")
        previous_tool_uses = uses


def _content_block(block: Any, role: str, where: str, previous: set[str], uses: set[str]) -> None:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "text":
        _text_block(block, where)
    elif kind == "image" and role == "user":
        source = block.get("source") or {}
        if source.get("type") == "base64":
            if source.get("media_type") not in IMAGE_TYPES:
                raise Invalid(f"{where}.source.media_type: Input should be one of {sorted(IMAGE_TYPES)}")
            try:
                base64.b64decode(source.get("data", ""), validate=True)
            except binascii.Error:
                raise Invalid(f"{where}.source.data: invalid base64 data") from None
        elif source.get("type") != "url" or not str(source.get("url", "")).startswith("https://"):
            raise Invalid(f"{where}.source: Input tag does not match any of the expected tags")
    elif kind == "tool_use" and role == "assistant":
        if not block.get("id") or not block.get("name") or not isinstance(block.get("input"), dict):
            raise Invalid(f"{where}: tool_use needs id, name and an object input")
        uses.add(block["id"])
    elif kind == "tool_result" and role == "user":
        if block.get("tool_use_id") not in previous:
            raise Invalid(
                f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: {block.get('tool_use_id')}"
            )
    else:
        raise Invalid(f"{where}.type: Input tag {kind!r} does not match any of the expected tags for {role}")


def _text_block(block: Any, where: str) -> None:
    if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
        raise Invalid(f"{where}: Input should be a text block")
    if not block["text"]:
        raise Invalid(f"{where}: text content blocks must be non-empty")


def _tool(tool: Any) -> bool:
    if not isinstance(tool, dict) or not tool.get("name") or not isinstance(tool.get("input_schema"), dict):
        raise Invalid("tools: each tool needs a name and an input_schema")
    if set(tool) - {"name", "description", "input_schema", "cache_control", "type"}:
        raise Invalid("tools: Extra inputs are not permitted")
    return True


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise Invalid(f"{where}: Input should be a valid list")
    return value


# -- the answer -----------------------------------------------------------------------------------------------


def answer(body: dict[str, Any]) -> dict[str, Any]:
    last = body["messages"][-1]
    content = last["content"] if isinstance(last["content"], list) else [{"type": "text", "text": last["content"]}]
    texts = [b["text"] for b in content if b.get("type") == "text"]
    results = [b for b in content if b.get("type") == "tool_result"]
    images = [b for b in content if b.get("type") == "image"]
    choice = body.get("tool_choice") or {}
    blocks: list[dict[str, Any]]
    stop_reason = "end_turn"
    if results:
        result = results[0].get("content")
        text = result if isinstance(result, str) else " ".join(b["text"] for b in result or [])
        blocks = [{"type": "text", "text": f"result: {text}"}]
    elif body.get("tools") and choice.get("type") in ("any", "tool"):
        name = choice.get("name") or body["tools"][0]["name"]
        blocks = [{"type": "tool_use", "id": "toolu_01fake", "name": name, "input": {"q": " ".join(texts)}}]
        stop_reason = "tool_use"
    else:
        words = ("echo: " + " ".join(texts) + (f" images: {len(images)}" if images else "")).split()
        if len(words) > body["max_tokens"]:
            words, stop_reason = words[: body["max_tokens"]], "max_tokens"
        text = " ".join(words)
        for stop in body.get("stop_sequences", []):
            if stop in text:
                text, stop_reason = text[: text.index(stop)], "stop_sequence"
        blocks = [{"type": "text", "text": text}]
    system = body.get("system")
    cached = 3 if isinstance(system, list) and any("cache_control" in b for b in system) else 0
    return {
        "id": "msg_01fake",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": _words(body),
            "output_tokens": sum(len(str(b.get("text", b.get("input", ""))).split()) for b in blocks),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": cached,
        },
    }


def _words(body: dict[str, Any]) -> int:
    return len(orjson.dumps(body["messages"]).split(b" ")) + 5


async def events(message: dict[str, Any], scripted: Scripted | None) -> AsyncIterator[bytes]:
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    yield sse("message_start", {"type": "message_start", "message": start})
    yield sse("ping", {"type": "ping"})
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            yield sse("content_block_start", _start(index, {"type": "text", "text": ""}))
            for k, word in enumerate(block["text"].split(" ")):
                delta = {"type": "text_delta", "text": word if k == 0 else " " + word}
                yield sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                if scripted is not None and scripted.cut:
                    return
                if scripted is not None:
                    error = {"type": "error", "error": {"type": scripted.error_type, "message": scripted.message}}
                    yield sse("error", error)
                    return
                await asyncio.sleep(0)
        else:
            yield sse("content_block_start", _start(index, {**block, "input": {}}))
            arguments = orjson.dumps(block["input"]).decode()
            for part in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
                delta = {"type": "input_json_delta", "partial_json": part}
                yield sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
        yield sse("content_block_stop", {"type": "content_block_stop", "index": index})
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    yield sse(
        "message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": usage["output_tokens"]}}
    )
    yield sse("message_stop", {"type": "message_stop"})


def _start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
