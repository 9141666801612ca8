"""The fake upstream's ASGI app: routing, knobs, recording. Run it with ``tests.support.fake_upstream``."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import random
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from tests.support import _fake_payloads as P

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON_HEADERS = [(b"content-type", b"application/json")]
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


@dataclasses.dataclass(frozen=True)
class FakeUpstreamConfig:
    """Server-wide defaults; the first three fields can also be set per request (see ``Knobs``)."""

    latency_ms: float = 0.0  # delay before the response headers
    chunks: int = 20  # content chunks per completion (stream) == words of the non-stream text
    chunk_delay_ms: float = 0.0  # delay between stream chunks
    embedding_dim: int = 1536  # default vector length when the request has no `dimensions`
    models: tuple[str, ...] = ("bench-chat", "bench-embed", "fake-model")
    require_auth: bool = True  # 401 in OpenAI shape when `authorization` is missing
    record: bool = True  # keep received requests in `app.requests`
    max_recorded: int = 1000  # bound of that list (oldest dropped first)
    retry_after_s: int = 1  # `retry-after` sent with x-fake-status: 429
    stall_max_s: float = 300.0  # a "stalled forever" stream ends after this (bounded loops)
    # uvicorn's default of 5 s closes idle pooled connections under a client's feet between benchmark
    # jobs; a long idle timeout keeps that race out of the numbers (tests can lower it to provoke it)
    keep_alive_s: float = 75.0


@dataclasses.dataclass
class Knobs:
    """Effective per-request behaviour. Header ``x-fake-<name>`` (``-`` for ``_``) sets ``<name>``."""

    latency_ms: float
    chunks: int
    chunk_delay_ms: float
    status: int = 0  # respond with this HTTP status and an OpenAI error body
    no_usage: bool = False  # streams: no usage chunk even if include_usage was asked (llama.cpp)
    stall_after: int = -1  # streams: stop sending after N content chunks, hold the connection
    reset: bool = False  # abort the connection before any response
    reset_after: int = -1  # streams: abort the connection after N content chunks
    malformed_sse: int = -1  # streams: send a broken event after N content chunks, then go on
    fail_percent: float = 100.0  # `status` / `reset` hit only this share of requests (at random): flapping
    retry_after_s: float = -1.0  # `retry-after` of a 429; negative means the server's default
    error_message: str = ""  # message of the `status` error body (default "fake upstream error <status>")
    # Hostile upstream: every field of its error objects (status errors and `error_after` events) echoes the
    # Authorization it received; `error_bytes` pads the error message to that many bytes.
    echo_key: bool = False
    error_bytes: int = 0
    error_after: int = -1  # streams: an in-band `data: {"error": ...}` event after N content chunks, then end
    no_done: bool = False  # streams: end the body cleanly without `data: [DONE]`
    auth: bytes | None = None  # the request's Authorization (for echo_key)

    def apply(self, name: str, raw: Any) -> None:
        if name in ("no_usage", "reset", "echo_key", "no_done"):
            setattr(self, name, _truthy(raw))
        elif name in ("latency_ms", "chunk_delay_ms", "fail_percent", "retry_after_s"):
            setattr(self, name, float(raw))
        elif name == "malformed_sse":
            self.malformed_sse = int(raw) if str(raw).strip().lstrip("-").isdigit() else self.chunks // 2
        elif name == "error_message":
            self.error_message = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
        elif name in ("chunks", "status", "stall_after", "reset_after", "error_bytes", "error_after"):
            setattr(self, name, int(raw))


def _truthy(raw: Any) -> bool:
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    return str(raw).strip().lower() not in ("", "0", "false", "no", "off")


@dataclasses.dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any  # parsed body, None when absent or not JSON


class FakeUpstreamApp:
    """The ASGI app. ``requests`` lists what it received (bounded); ``reset()`` clears it."""

    def __init__(self, config: FakeUpstreamConfig | None = None) -> None:
        self.config = config or FakeUpstreamConfig()
        self._recorded: collections.deque[RecordedRequest] = collections.deque(maxlen=self.config.max_recorded)
        # HTTP requests being handled right now: a test sees the upstream stop work when this drops.
        self.in_flight = 0

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self._recorded)

    def reset(self) -> None:
        self._recorded.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        self.in_flight += 1
        try:
            await self._http(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        cfg = self.config
        auth: bytes | None = None
        overrides: list[tuple[bytes, bytes]] = []
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth = value
            elif name.startswith(b"x-fake-"):
                overrides.append((name[7:], value))

        body = b""
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        data: Any = None
        if body:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                data = None
        if cfg.record:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            self._recorded.append(RecordedRequest(scope["method"], scope["path"], headers, body, data))

        if cfg.require_auth and not auth:
            await _send_error(send, 401, "Missing bearer authentication in header")
            return

        knobs = Knobs(cfg.latency_ms, cfg.chunks, cfg.chunk_delay_ms)
        for name, value in overrides:
            knobs.apply(name.decode("latin-1").replace("-", "_"), value.decode("latin-1"))
        if isinstance(data, dict):
            extra = data.get("x_fake")
            if isinstance(extra, dict):
                for name, value in extra.items():
                    knobs.apply(str(name), value)

        failing = knobs.fail_percent >= 100 or random.random() * 100 < knobs.fail_percent
        if knobs.reset and failing:
            await _abort(send)
            return
        if knobs.latency_ms > 0:
            await asyncio.sleep(knobs.latency_ms / 1000)
        if knobs.status and failing:
            retry_after = knobs.retry_after_s if knobs.retry_after_s >= 0 else cfg.retry_after_s
            message = knobs.error_message or f"fake upstream error {knobs.status}"
            if knobs.echo_key or knobs.error_bytes:
                error_body = orjson.dumps({"error": _hostile_error(knobs, message, auth)})
                await _send_json(send, knobs.status, error_body)
            else:
                await _send_error(send, knobs.status, message, None, retry_after)
            return
        knobs.auth = auth
        await self._route(scope, receive, send, data, knobs)

    async def _route(self, scope: Scope, receive: Receive, send: Send, data: Any, knobs: Knobs) -> None:
        path: str = scope["path"]
        if path.startswith("/v1/"):
            path = path[3:]
        method = scope["method"]
        if path == "/models":
            if method != "GET":
                await _send_error(send, 405, "Method not allowed")
                return
            await _send_json(send, 200, P.models(self.config.models))
            return
        if path not in ("/chat/completions", "/completions", "/embeddings"):
            await _send_error(send, 404, f"Unknown path {scope['path']}")
            return
        if method != "POST":
            await _send_error(send, 405, "Method not allowed")
            return
        if not isinstance(data, dict):
            await _send_error(send, 400, "Request body must be a JSON object")
            return
        model = data.get("model")
        if not isinstance(model, str) or not model:
            await _send_error(send, 400, "you must provide a model parameter", "model")
            return
        if path == "/embeddings":
            await self._embeddings(send, data, model)
            return
        await _completion(receive, send, data, model, knobs, chat=path == "/chat/completions", cfg=self.config)

    async def _embeddings(self, send: Send, data: dict[str, Any], model: str) -> None:
        inputs = P.embedding_inputs(data.get("input"))
        if inputs is None:
            await _send_error(send, 400, "'input' must be a string or a non-empty array", "input")
            return
        dim = data.get("dimensions", self.config.embedding_dim)
        if not isinstance(dim, int) or not 1 <= dim <= P.MAX_EMBEDDING_DIM:
            await _send_error(send, 400, f"'dimensions' must be in 1..{P.MAX_EMBEDDING_DIM}", "dimensions")
            return
        as_b64 = data.get("encoding_format") == "base64"
        await _send_json(send, 200, P.embeddings(model, inputs, dim, as_b64))


async def _completion(
    receive: Receive,
    send: Send,
    data: dict[str, Any],
    model: str,
    knobs: Knobs,
    chat: bool,
    cfg: FakeUpstreamConfig,
) -> None:
    source = data.get("messages") if chat else data.get("prompt")
    if chat and not isinstance(source, list):
        await _send_error(send, 400, "'messages' must be an array", "messages")
        return
    prompt_tokens = max(1, P.count_words(source))
    n_choices = data.get("n") or 1
    if not isinstance(n_choices, int) or not 1 <= n_choices <= 16:
        await _send_error(send, 400, "'n' must be in 1..16", "n")
        return
    n_chunks, finish = knobs.chunks, "stop"
    cap = data.get("max_completion_tokens") or data.get("max_tokens")
    if isinstance(cap, int) and 0 < cap < n_chunks:
        n_chunks, finish = cap, "length"

    if not data.get("stream"):
        build = P.chat_completion if chat else P.text_completion
        await _send_json(send, 200, build(model, n_choices, n_chunks, finish, prompt_tokens))
        return

    opts = data.get("stream_options")
    include_usage = isinstance(opts, dict) and bool(opts.get("include_usage"))
    sb = P.StreamBuilder(chat, model, n_choices, include_usage)
    await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
    delay = knobs.chunk_delay_ms / 1000
    for i in range(n_chunks):
        if i == knobs.stall_after:
            await _hold_until_disconnect(receive, cfg.stall_max_s)
            return
        if i == knobs.reset_after:
            await _abort(send)
            return
        if i == knobs.error_after:
            event = b"data: " + orjson.dumps({"error": _hostile_error(knobs, "upstream failed", knobs.auth)})
            await send({"type": "http.response.body", "body": event + b"\n\n", "more_body": False})
            return
        if i == knobs.malformed_sse:
            await send({"type": "http.response.body", "body": P.MALFORMED_EVENT, "more_body": True})
        if delay and i:
            await asyncio.sleep(delay)
        await send({"type": "http.response.body", "body": sb.content(i), "more_body": True})
    tail = sb.finish(finish)
    if include_usage and not knobs.no_usage:
        tail += sb.usage(prompt_tokens, n_chunks)
    await send({"type": "http.response.body", "body": tail + (b"" if knobs.no_done else P.DONE), "more_body": False})


def _hostile_error(knobs: Knobs, message: str, auth: bytes | None) -> dict[str, Any]:
    echo = (auth or b"").decode("latin-1") if knobs.echo_key else ""
    if echo:
        message = f"{message}; you sent {echo}"
    if knobs.error_bytes > len(message):
        message += "x" * (knobs.error_bytes - len(message))
    fields = {"type": echo or "server_error", "param": echo or None, "code": echo or None}
    return {"message": message, **fields, "details": {"echo": echo}}


async def _send_json(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = _JSON_HEADERS + [(b"content-length", str(len(body)).encode())] + (extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_error(
    send: Send, status: int, message: str, param: str | None = None, retry_after_s: float = 1
) -> None:
    extra = [(b"retry-after", f"{retry_after_s:g}".encode())] if status == 429 else []
    await _send_json(send, status, P.error(status, message, param), extra)


async def _hold_until_disconnect(receive: Receive, max_s: float) -> None:
    async def wait() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wait(), max_s)


async def _abort(send: Send) -> None:
    """Drops the TCP connection with a RST and no response. ASGI has no verb for this, so reach
    for uvicorn's transport (``send`` is a bound method of its request cycle)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("x-fake-reset needs uvicorn")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER 0 turns close() into a RST, which clients report as "connection reset".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    transport.abort()
    for _ in range(100):  # let connection_lost run so uvicorn does not try to send a 500
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
