"""Aqueduct's built-in demo provider (`mock/<anything>` in model_list).

Answers every endpoint offline and deterministically, and says in its output that it is a demo, so a
newcomer can try chat (streamed and not), completions and embeddings without any upstream."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
import time
import uuid
from collections.abc import AsyncGenerator
from typing import Any

from core.errors import UpstreamError
from core.inference.token_estimate import (
    CHARS_PER_TOKEN,
    estimate_chat_input_tokens,
    estimate_prompt_tokens,
    estimate_text_tokens,
)
from core.providers.base import BatchedStream, JSONObject, UpstreamStream
from core.routing.deployment import Deployment

DEMO_PREFIX = "This is Aqueduct's demo mock provider. You said: "
# Vector length when the request has no `dimensions`, and the largest one accepted (OpenAI's maximum).
DEFAULT_EMBEDDING_DIMENSIONS = 256
MAX_EMBEDDING_DIMENSIONS = 3072
# Bound on `n` so a demo request cannot ask for an enormous response.
MAX_CHOICES = 128


class MockProvider:
    def __init__(self, deployment: Deployment) -> None:
        self._model = deployment.upstream_model
        extra = deployment.config.litellm_params.model_extra or {}
        fixed = extra.get("mock_response")
        # litellm_params.mock_response (as in LiteLLM) replaces the echo with a fixed reply.
        self._fixed_reply = fixed if isinstance(fixed, str) else None

    async def chat_completion(self, body: JSONObject, *, request_id: str) -> JSONObject:
        reply, finish = self._chat_reply(body)
        n = _choices(body)
        message = {"role": "assistant", "content": reply, "refusal": None}
        return {
            **_head("chatcmpl", "chat.completion", self._model),
            "choices": [{"index": i, "message": message, "logprobs": None, "finish_reason": finish} for i in range(n)],
            "usage": _usage(estimate_chat_input_tokens(body.get("messages")), estimate_text_tokens(reply) * n),
        }

    async def stream_chat_completion(self, body: JSONObject, *, request_id: str) -> UpstreamStream:
        reply, finish = self._chat_reply(body)
        n = _choices(body)
        head = _head("chatcmpl", "chat.completion.chunk", self._model)
        events: list[JSONObject] = []
        for i, piece in enumerate(_pieces(reply)):
            delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
            events.append({**head, "choices": [_chunk_choice(c, "delta", delta, None) for c in range(n)]})
        events.append({**head, "choices": [_chunk_choice(c, "delta", {}, finish) for c in range(n)]})
        if _wants_usage(body):
            usage = _usage(estimate_chat_input_tokens(body.get("messages")), estimate_text_tokens(reply) * n)
            events.append({**head, "choices": [], "usage": usage})
        return MockStream(events)

    async def completion(self, body: JSONObject, *, request_id: str) -> JSONObject:
        prompts = _prompts(body.get("prompt"))
        n = _choices(body)
        choices = []
        completion_tokens = 0
        for p, prompt in enumerate(prompts):
            text, finish = _capped(" " + DEMO_PREFIX + prompt, body)
            completion_tokens += estimate_text_tokens(text) * n
            for c in range(n):
                choices.append({"index": p * n + c, "text": text, "logprobs": None, "finish_reason": finish})
        return {
            **_head("cmpl", "text_completion", self._model),
            "choices": choices,
            "usage": _usage(estimate_prompt_tokens(body.get("prompt")), completion_tokens),
        }

    async def stream_completion(self, body: JSONObject, *, request_id: str) -> UpstreamStream:
        full = await self.completion(body, request_id=request_id)
        head = {k: full[k] for k in ("id", "object", "created", "model")}
        events: list[JSONObject] = []
        for choice in full["choices"]:
            for piece in _pieces(choice["text"]):
                events.append({**head, "choices": [_chunk_choice(choice["index"], "text", piece, None)]})
            events.append({**head, "choices": [_chunk_choice(choice["index"], "text", "", choice["finish_reason"])]})
        if _wants_usage(body):
            events.append({**head, "choices": [], "usage": full["usage"]})
        return MockStream(events)

    async def embeddings(self, body: JSONObject, *, request_id: str) -> JSONObject:
        texts = _embedding_inputs(body.get("input"))
        dims = body.get("dimensions", DEFAULT_EMBEDDING_DIMENSIONS)
        if not isinstance(dims, int) or isinstance(dims, bool) or not 1 <= dims <= MAX_EMBEDDING_DIMENSIONS:
            raise UpstreamError(
                f"'dimensions' must be an integer in 1..{MAX_EMBEDDING_DIMENSIONS}.",
                upstream_status=400,
                upstream_param="dimensions",
            )
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(texts):
            packed = embedding_bytes(text, dims)
            vector: Any = (
                base64.b64encode(packed).decode("ascii") if as_base64 else list(struct.unpack(f"<{dims}f", packed))
            )
            data.append({"object": "embedding", "index": i, "embedding": vector})
        tokens = estimate_prompt_tokens(body.get("input"))
        return {"object": "list", "data": data, "model": self._model, "usage": _usage(tokens, None)}

    async def aclose(self) -> None:
        return None

    def _chat_reply(self, body: JSONObject) -> tuple[str, str]:
        if self._fixed_reply is not None:
            return _capped(self._fixed_reply, body)
        said = _last_user_text(body.get("messages"))
        return _capped(DEMO_PREFIX + (said or "(nothing)"), body)


class MockStream(BatchedStream):
    """A finished list of events, one per batch with a scheduling point between them like a real stream."""

    def __init__(self, events: list[JSONObject]) -> None:
        self._events = events
        self._closed = False

    async def batches(self) -> AsyncGenerator[list[JSONObject], None]:
        for event in self._events:
            if self._closed:
                return
            await asyncio.sleep(0)
            yield [event]

    async def aclose(self) -> None:
        self._closed = True


def embedding_bytes(text: str, dims: int) -> bytes:
    """A unit-length float32 vector (little-endian) derived from a hash of `text` only."""
    raw = hashlib.shake_256(text.encode("utf-8")).digest(2 * dims)
    values = [v / 32768.0 - 1.0 for v in struct.unpack(f"<{dims}H", raw)]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return struct.pack(f"<{dims}f", *(v / norm for v in values))


def _head(prefix: str, obj: str, model: str) -> JSONObject:
    return {"id": f"{prefix}-mock-{uuid.uuid4().hex}", "object": obj, "created": int(time.time()), "model": model}


def _usage(prompt: int, completion: int | None) -> JSONObject:
    if completion is None:
        return {"prompt_tokens": prompt, "total_tokens": prompt}
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _chunk_choice(index: int, key: str, value: Any, finish: str | None) -> JSONObject:
    return {"index": index, key: value, "logprobs": None, "finish_reason": finish}


def _choices(body: JSONObject) -> int:
    n = body.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_CHOICES else 1


def _wants_usage(body: JSONObject) -> bool:
    opts = body.get("stream_options")
    return isinstance(opts, dict) and bool(opts.get("include_usage"))


def _capped(text: str, body: JSONObject) -> tuple[str, str]:
    """Honours max_tokens / max_completion_tokens with the same 4-characters-per-token scale as usage."""
    cap = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(cap, int) and cap > 0 and estimate_text_tokens(text) > cap:
        return text[: cap * CHARS_PER_TOKEN], "length"
    return text, "stop"


def _pieces(text: str) -> list[str]:
    """Word-sized stream deltas that join back to `text` exactly."""
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + ([words[-1]] if words[-1] else [])


def _last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _prompts(prompt: Any) -> list[str]:
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        return list(prompt)
    if isinstance(prompt, list) and prompt:
        return ["<token prompt>"]
    return [""]


def _embedding_inputs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, int) for v in value):
            return [" ".join(map(str, value))]
        if all(isinstance(v, list) for v in value):
            return [" ".join(map(str, v)) for v in value]
    raise UpstreamError(
        "'input' must be a string, an array of strings, or token arrays.",
        upstream_status=400,
        upstream_param="input",
    )
