"""Response bodies of the fake upstream, shaped per OpenAI's OpenAPI spec.

Everything here is deterministic (apart from ids and `created`) so tests can assert exact content:
chunk ``i`` of a completion is ``fake_chunk_text(i)`` and the non-streaming content is the join of
the same chunks, so a stream and a non-stream call with the same knobs produce the same text.
"""

from __future__ import annotations

import base64
import itertools
import struct
import time
import zlib
from typing import Any

import orjson

JSONObj = dict[str, Any]

# Values are multiples of 1/1024 so they are exact in float32: the float and base64 encodings
# of one embedding then decode to identical numbers, which lets tests compare them with ==.
_BASE_VECTOR_LEN = 4096
_BASE_VALUES = [((i * 37) % 1024) / 1024.0 - 0.5 for i in range(2 * _BASE_VECTOR_LEN)]
_BASE_PACKED = struct.pack(f"<{len(_BASE_VALUES)}f", *_BASE_VALUES)
MAX_EMBEDDING_DIM = _BASE_VECTOR_LEN

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    """Unique per process; cheap (no uuid) because it sits on the benchmark's hot path."""
    return f"{prefix}-fake{next(_ids):012d}"


def fake_chunk_text(i: int) -> str:
    """Content of stream chunk ``i`` (0-based)."""
    return f"tok{i} "


def fake_content(n_chunks: int) -> str:
    """The full completion text for ``n_chunks`` chunks (what a non-streaming call returns)."""
    return "".join(fake_chunk_text(i) for i in range(n_chunks))


def fake_embedding(text: str, dim: int) -> list[float]:
    """The deterministic vector the fake returns for ``text`` (for tests to compare against)."""
    off = _offset(text)
    return _BASE_VALUES[off : off + dim]


def _offset(text: str) -> int:
    return zlib.crc32(text.encode()) % _BASE_VECTOR_LEN


def count_words(value: Any) -> int:
    """A stand-in tokenizer: whitespace words in every string found in ``value`` (min 1)."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(count_words(v) for v in value)
    if isinstance(value, dict):
        return sum(count_words(v) for k, v in value.items() if k in ("content", "text"))
    return 0


def usage(prompt_tokens: int, completion_tokens: int) -> JSONObj:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def chat_completion(model: str, n_choices: int, n_chunks: int, finish: str, prompt_tokens: int) -> bytes:
    content = fake_content(n_chunks)
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": content, "refusal": None},
            "logprobs": None,
            "finish_reason": finish,
        }
        for i in range(n_choices)
    ]
    return orjson.dumps(
        {
            "id": new_id("chatcmpl"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
            "usage": usage(prompt_tokens, n_chunks * n_choices),
        }
    )


def text_completion(model: str, n_choices: int, n_chunks: int, finish: str, prompt_tokens: int) -> bytes:
    content = fake_content(n_chunks)
    choices = [{"index": i, "text": content, "logprobs": None, "finish_reason": finish} for i in range(n_choices)]
    return orjson.dumps(
        {
            "id": new_id("cmpl"),
            "object": "text_completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
            "usage": usage(prompt_tokens, n_chunks * n_choices),
        }
    )


class StreamBuilder:
    """Builds the SSE events of one streamed chat or text completion."""

    def __init__(self, chat: bool, model: str, n_choices: int, include_usage: bool) -> None:
        self.chat = chat
        self.n_choices = n_choices
        self.include_usage = include_usage
        self._head: JSONObj = {
            "id": new_id("chatcmpl" if chat else "cmpl"),
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }

    def _event(self, choices: list[JSONObj]) -> bytes:
        body = dict(self._head, choices=choices)
        if self.include_usage:
            # OpenAI sends an explicit null usage on every chunk but the last when usage is asked for.
            body["usage"] = None
        return b"data: " + orjson.dumps(body) + b"\n\n"

    def content(self, i: int) -> bytes:
        text = fake_chunk_text(i)
        choices: list[JSONObj] = []
        for c in range(self.n_choices):
            if self.chat:
                delta: JSONObj = {"content": text}
                if i == 0:
                    delta = {"role": "assistant", "content": text}
                choices.append({"index": c, "delta": delta, "logprobs": None, "finish_reason": None})
            else:
                choices.append({"index": c, "text": text, "logprobs": None, "finish_reason": None})
        return self._event(choices)

    def finish(self, reason: str) -> bytes:
        key, empty = ("delta", {}) if self.chat else ("text", "")
        return self._event(
            [{"index": c, key: empty, "logprobs": None, "finish_reason": reason} for c in range(self.n_choices)]
        )

    def usage(self, prompt_tokens: int, n_chunks: int) -> bytes:
        body = dict(self._head, choices=[], usage=usage(prompt_tokens, n_chunks * self.n_choices))
        return b"data: " + orjson.dumps(body) + b"\n\n"


DONE = b"data: [DONE]\n\n"
MALFORMED_EVENT = b'data: {"id": "broken", "choices": [{"delta": \n\n'


def embeddings(model: str, inputs: list[str], dim: int, as_base64: bool) -> bytes:
    data = []
    for i, text in enumerate(inputs):
        off = _offset(text)
        vec: Any
        if as_base64:
            vec = base64.b64encode(_BASE_PACKED[off * 4 : (off + dim) * 4]).decode()
        else:
            vec = _BASE_VALUES[off : off + dim]
        data.append({"object": "embedding", "index": i, "embedding": vec})
    tokens = max(1, count_words(inputs))
    return orjson.dumps(
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def embedding_inputs(value: Any) -> list[str] | None:
    """Normalises every accepted ``input`` form to strings; token arrays are hashed as text."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, int) for v in value):
            return [" ".join(map(str, value))]
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, list) for v in value):
            return [" ".join(map(str, v)) for v in value]
    return None


def models(ids: tuple[str, ...]) -> bytes:
    return orjson.dumps(
        {
            "object": "list",
            "data": [{"id": m, "object": "model", "created": 1700000000, "owned_by": "fake-upstream"} for m in ids],
        }
    )


_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_denied_error", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def error(status: int, message: str, param: str | None = None) -> bytes:
    etype, code = _ERROR_TYPES.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return orjson.dumps({"error": {"message": message, "type": etype, "param": param, "code": code}})
