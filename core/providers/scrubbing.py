"""What of an upstream's error reaches the caller: its text with every credential removed, and nothing else
that is free-form. An upstream may echo the gateway's key anywhere in its error object (the review saw it in
`type` and `param`), or a masked part of it ("sk-up****cdef"), so only the message is kept, scrubbed and
bounded; `code` and `param` pass only when they belong to small closed sets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from core.errors import MAX_UPSTREAM_MESSAGE_CHARS, clipped

# Secrets shorter than this are not searched for: replacing "abc" everywhere would garble the text and a
# three-letter key is not worth hiding.
MIN_SECRET_CHARS = 6

# Credential-looking words whatever deployment they belong to: an Authorization value, an OpenAI-style key,
# masked or not.
_CREDENTIAL: Final = re.compile(
    r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=*-]{4,}|\bsk-[A-Za-z0-9_*-]{3,}|\b(api[-_]?key|token)=[^\s&\"']+"
)

# Error codes that tell a client something it can act on; any other upstream code is dropped.
KNOWN_CODES: Final = frozenset(
    {
        "context_length_exceeded",
        "string_above_max_length",
        "rate_limit_exceeded",
        "insufficient_quota",
        "model_not_found",
        "content_policy_violation",
        "content_filter",
        "invalid_value",
    }
)

# `param` must name a field of the request the client sent (its first segment), e.g. "messages[0].content".
_PARAM: Final = re.compile(r"[a-z_]{1,40}(?:\[\d{1,6}\]|\.[a-z_]{1,40}){0,8}")
_REQUEST_FIELDS: Final = frozenset(
    {
        "model", "messages", "prompt", "input", "suffix", "max_tokens", "max_completion_tokens", "temperature",
        "top_p", "n", "stop", "stream", "stream_options", "presence_penalty", "frequency_penalty", "logit_bias",
        "logprobs", "top_logprobs", "user", "seed", "tools", "tool_choice", "parallel_tool_calls", "functions",
        "function_call", "response_format", "echo", "best_of", "dimensions", "encoding_format", "metadata",
        "store", "reasoning_effort", "modalities", "audio", "prediction", "service_tier",
    }
)  # fmt: skip


class Scrubber:
    """Removes the configured credentials (exact strings) and credential-looking words from upstream text,
    then bounds it."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        unique = {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}
        self._secrets = tuple(sorted(unique, key=len, reverse=True))  # longest first: one may contain another

    def with_secrets(self, secrets: Iterable[str | None]) -> Scrubber:
        return Scrubber((*self._secrets, *secrets))

    def __call__(self, text: str, limit: int = MAX_UPSTREAM_MESSAGE_CHARS) -> str:
        # Only the head is worked on (a 50 MB message costs nothing), with room for replacements shrinking it.
        text = text[: limit * 8]
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return clipped(_CREDENTIAL.sub(_masked, text), limit)


def _masked(match: re.Match[str]) -> str:
    word = match.group(0)
    if word[:3].lower() == "sk-":
        return "sk-***"
    scheme = match.group(1) or match.group(2)
    separator = "=" if match.group(2) else " "
    return f"{scheme}{separator}***"


def known_code(value: Any) -> str | None:
    return value if isinstance(value, str) and value in KNOWN_CODES else None


def request_param(value: Any) -> str | None:
    """`value` when it names a field of the client's request, else None."""
    if not isinstance(value, str) or not _PARAM.fullmatch(value):
        return None
    root = value.split(".", 1)[0].split("[", 1)[0]
    return value if root in _REQUEST_FIELDS else None
