"""OpenAI SDK clients for tests, closed when the test that made them ends (tests/conftest.py): an unclosed one
keeps its pooled socket until the garbage collector finds it, and the ResourceWarning then fails whichever test
happens to be running."""

from __future__ import annotations

from typing import Any

import openai

_open: list[openai.OpenAI] = []


def sdk_client(**kwargs: Any) -> openai.OpenAI:
    """`openai.OpenAI(**kwargs)`, closed at the end of the current test."""
    client = openai.OpenAI(**kwargs)
    _open.append(client)
    return client


def close_sdk_clients() -> None:
    while _open:
        _open.pop().close()
