"""A loopback upstream whose streams hold after their first token until the test opens a gate, so many streams
are in flight at once (the review's concurrency attack). It honours max_tokens like a real upstream and sends
a usage chunk with the output tokens it produced."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from tests.support._fake_app import FakeUpstreamConfig
from tests.support.fake_upstream import FakeUpstream

TOKENS_PER_ANSWER = 13  # what one uncapped answer costs (the review's 520 tokens / 40 streams)


def _event(body: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return _event({"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [choice]})


class GatedApp:
    config = FakeUpstreamConfig()

    def __init__(self) -> None:
        self._gate: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opened = threading.Event()

    def open(self) -> None:
        self._opened.set()
        if self._loop is not None and self._gate is not None:
            self._loop.call_soon_threadsafe(self._gate.set)

    def close(self) -> None:
        self._opened.clear()
        if self._loop is not None and self._gate is not None:
            self._loop.call_soon_threadsafe(self._gate.clear)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self._gate is None:
            self._loop, self._gate = asyncio.get_running_loop(), asyncio.Event()
            if self._opened.is_set():
                self._gate.set()
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        data = json.loads(body)
        cap = data.get("max_completion_tokens") or data.get("max_tokens") or TOKENS_PER_ANSWER
        produced = min(cap, TOKENS_PER_ANSWER)
        model = data["model"]
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": _chunk(model, {"content": "w "}), "more_body": True})
        await self._gate.wait()
        tail = b"".join(_chunk(model, {"content": "w "}) for _ in range(produced - 1))
        tail += _chunk(model, {}, "length" if produced < TOKENS_PER_ANSWER else "stop")
        usage = {"prompt_tokens": 3, "completion_tokens": produced, "total_tokens": 3 + produced}
        tail += _event({"id": "c1", "object": "chat.completion.chunk", "model": model, "choices": [], "usage": usage})
        await send({"type": "http.response.body", "body": tail + b"data: [DONE]\n\n", "more_body": False})


def gated_upstream() -> tuple[FakeUpstream, GatedApp]:
    """A started server (stop it) and its app (open / close the gate)."""
    server = FakeUpstream()
    app = GatedApp()
    server.app = app  # type: ignore[assignment]
    return server.start(), app
