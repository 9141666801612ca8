"""Cheap offline token estimates for upstreams that report no usage (llama.cpp's server in streams).

About four characters per token holds for English text with OpenAI-style BPE vocabularies; counts that come
from this module are always flagged `estimated` so nobody mistakes them for the upstream's own."""

from __future__ import annotations

from typing import Any

CHARS_PER_TOKEN = 4
# Chat formats wrap each message in role markers; OpenAI documents about 3 tokens per message, plus 3 to
# prime the reply.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


def estimate_text_tokens(text: str) -> int:
    """ceil(len/4): an empty string is 0 tokens, any other string at least 1."""
    return -(-len(text) // CHARS_PER_TOKEN)


def estimate_chat_input_tokens(messages: Any) -> int:
    if not isinstance(messages, list):
        return 0
    total = TOKENS_PER_REPLY
    for message in messages:
        total += TOKENS_PER_MESSAGE + estimate_text_tokens(text_of(message))
    return total


def estimate_prompt_tokens(prompt: Any) -> int:
    """A completions `prompt` or embeddings `input`: text, a list of texts, or token arrays (counted as is)."""
    if isinstance(prompt, str):
        return estimate_text_tokens(prompt)
    if isinstance(prompt, list):
        if all(isinstance(p, int) for p in prompt):
            return len(prompt)
        return sum(estimate_prompt_tokens(p) for p in prompt)
    return 0


def text_of(value: Any) -> str:
    """All generated or supplied text inside a message, delta or content-part structure."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(text_of(v) for v in value)
    if isinstance(value, dict):
        parts = []
        for key in ("content", "text", "refusal", "reasoning_content", "arguments", "name"):
            if key in value:
                parts.append(text_of(value[key]))
        for key in ("tool_calls", "function", "function_call"):
            if key in value:
                parts.append(text_of(value[key]))
        return "".join(parts)
    return ""
