"""Token estimates, for the two places that need a count the upstream has not given.

1. The rate-limit reservation (admission, before the upstream is called): about four characters per token,
   `estimate_*` with the default counter. It runs on every request, and tiktoken costs too much there:
   measured on this project's 2-CPU machine (process CPU time, median of 5 runs), encoding a 16,000-character
   prompt (~4,200 tokens) takes 1.5 ms with o200k_base and 1.8 ms with cl100k_base (3-5 us for a 78-character
   one), against 0.6-0.9 ms of CPU for a whole chat request; chars/4 takes 0.2 us whatever the length. A
   long prompt would triple the request's cost, for a count that settlement corrects anyway.
2. The usage recorded (and returned, flagged `estimated`) when an upstream sends none (llama.cpp's server in
   streams, some vLLM set-ups): `token_counter(upstream model)` gives tiktoken's exact count for OpenAI-family
   models - o200k_base for gpt-4o, gpt-4.1, gpt-5 and the o-series, cl100k_base for gpt-4, gpt-3.5 and the
   embedding models (tiktoken's own model table) - and chars/4 only for other model families. This path is
   rare and runs in a worker thread (core.inference.pipeline, stream_usage), so neither the cost above nor
   building an encoding the first time (about a second, ~50 MB) blocks the event loop.
   The BPE files are never downloaded (core.inference.tiktoken_offline).

Chars/4 holds for English prose; code and CJK text can be off by 2x, which is why recorded usage uses
tiktoken where the tokenizer is known."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.inference import tiktoken_offline

CHARS_PER_TOKEN = 4
# Chat formats wrap each message in role markers; OpenAI documents about 3 tokens per message, plus 3 to
# prime the reply.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3

TokenCounter = Callable[[str], int]


def estimate_text_tokens(text: str) -> int:
    """ceil(len/4): an empty string is 0 tokens, any other string at least 1."""
    return -(-len(text) // CHARS_PER_TOKEN)


def token_counter(model: str | None) -> TokenCounter:
    """The counter for an upstream model: tiktoken's for OpenAI families, else chars/4. The first call for an
    encoding builds it (about a second): call it off the event loop."""
    name = tiktoken_offline.encoding_name(model) if model else None
    encoding = tiktoken_offline.encoding(name) if name else None
    if encoding is None:
        return estimate_text_tokens
    # encode_ordinary: text that looks like a special token ("<|endoftext|>") is counted as the text it is.
    return lambda text: len(encoding.encode_ordinary(text)) if text else 0


def estimate_chat_input_tokens(messages: Any, count: TokenCounter = estimate_text_tokens) -> int:
    if not isinstance(messages, list):
        return 0
    total = TOKENS_PER_REPLY
    for message in messages:
        total += TOKENS_PER_MESSAGE + count(text_of(message))
    return total


def estimate_prompt_tokens(prompt: Any, count: TokenCounter = estimate_text_tokens) -> int:
    """A completions `prompt` or embeddings `input`: text, a list of texts, or token arrays (counted as is)."""
    if isinstance(prompt, str):
        return count(prompt)
    if isinstance(prompt, list):
        if all(isinstance(p, int) for p in prompt):
            return len(prompt)
        return sum(estimate_prompt_tokens(p, count) for p in prompt)
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
