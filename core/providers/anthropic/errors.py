"""Anthropic's errors, `{"type": "error", "error": {"type": ..., "message": ...}, "request_id": ...}`, as the
gateway's upstream errors: the status is kept (401/403 become the gateway's 502, as for every upstream) except
529 overloaded_error, which OpenAI's clients do not know and is answered 503; `retry-after` is kept; the codes
OpenAI's clients act on are derived (rate_limit_exceeded, context_length_exceeded)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from core.errors import UpstreamError
from core.providers.scrubbing import Scrubber
from core.providers.upstream_errors import BAD_GATEWAY, parse_retry_after, upstream_error

OVERLOADED: Final = 529
# Anthropic's error types and the statuses its API reference gives them (used for errors inside a stream).
STATUS_OF_TYPE: Final = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": OVERLOADED,
}
_ANSWER: Final = {OVERLOADED: 503}


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], scrub: Scrubber, model: str
) -> UpstreamError:
    try:
        parsed: Any = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        parsed = None
    err = parsed.get("error") if isinstance(parsed, dict) else None
    return _error(status, err if isinstance(err, dict) else {}, scrub, model, parse_retry_after(headers))


def error_from_stream_event(data: Any, scrub: Scrubber, model: str) -> UpstreamError:
    """An `event: error` after the stream started (e.g. overloaded_error mid-answer)."""
    err = data.get("error") if isinstance(data, dict) else None
    err = err if isinstance(err, dict) else {}
    return _error(STATUS_OF_TYPE.get(str(err.get("type")), BAD_GATEWAY), err, scrub, model, None)


def _error(status: int, err: dict[str, Any], scrub: Scrubber, model: str, retry_after: float | None) -> UpstreamError:
    message = err.get("message")
    code = None
    if status == 429:
        code = "rate_limit_exceeded"
    elif isinstance(message, str) and "prompt is too long" in message:
        code = "context_length_exceeded"
    # Anthropic's free-form `type` is not passed on (the gateway's table gives the type); the message is scrubbed.
    shown = {"message": message} if isinstance(message, str) else {}
    return upstream_error(
        status,
        shown,
        scrub,
        model,
        f"The upstream returned HTTP {status}.",
        retry_after,
        answer=_ANSWER.get(status),
        code=code,
    )
