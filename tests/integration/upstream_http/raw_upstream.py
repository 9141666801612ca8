"""Byte-level upstream servers on 127.0.0.1 for the HTTP edge cases (raw asyncio sockets, optionally TLS), a
tiny forward/CONNECT proxy, and a provider built from litellm_params the way the gateway builds it."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson

from core.providers import OpenAICompatibleProvider
from core.routing import ModelRegistry
from core.settings import Settings

CHAT_RESULT = {
    "id": "chatcmpl-raw",
    "object": "chat.completion",
    "model": "raw",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "raw answer"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
}
CHAT_BODY = orjson.dumps(CHAT_RESULT)
CHAT = {"model": "public", "messages": [{"role": "user", "content": "hi"}]}


def provider_for(api_base: str, **params: Any) -> OpenAICompatibleProvider:
    entry = {"model_name": "public", "litellm_params": {"model": "openai/raw", "api_base": api_base, **params}}
    registry = ModelRegistry.from_settings(Settings.model_validate({"model_list": [entry]}))
    return OpenAICompatibleProvider(registry.resolve("public").deployments[0])


@dataclass
class Request:
    line: str  # "POST /v1/chat/completions HTTP/1.1"
    headers: dict[str, str]  # lower-case names
    body: bytes
    peercert: dict[str, Any] | None = None


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """One request (head and Content-Length body), or None at a clean end of the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    line, *rest = head.decode("latin-1").split("\r\n")
    headers = {}
    for raw in rest:
        if raw:
            name, _, value = raw.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(line, headers, body)


def response(status: str, body: bytes = b"", *headers: str, length: bool = True) -> bytes:
    """An HTTP/1.1 response; `length=False` leaves the body's end to the caller (chunked or close)."""
    lines = [f"HTTP/1.1 {status}", *headers]
    if length:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]


class _Connections:
    """The open connections of a test server, so that leaving it closes them and lets their handlers end (in
    Python 3.11 Server.close() leaves accepted connections open, and a handler cancelled at loop shutdown is
    logged as an error)."""

    def __init__(self) -> None:
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def add(self, *writers: asyncio.StreamWriter) -> None:
        self.writers.update(writers)
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)

    async def close(self, server: asyncio.Server) -> None:
        server.close()
        for writer in self.writers:
            writer.close()
        current = asyncio.current_task()
        await asyncio.gather(*(t for t in self.tasks if t is not current), return_exceptions=True)
        await server.wait_closed()


@dataclass
class RawUpstream:
    """Calls `handler(request, writer)` for each request received; the handler writes the answer and returns
    whether the connection stays open for another request. Counts connections and keeps every request."""

    handler: Handler
    tls: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    _server: asyncio.Server | None = None
    _open: _Connections = field(default_factory=_Connections)

    def base_url(self, host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/v1"

    async def __aenter__(self) -> RawUpstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        await self._open.close(self._server)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        self.connections += 1
        try:
            while (request := await read_request(reader)) is not None:
                request.peercert = writer.get_extra_info("peercert")
                self.requests.append(request)
                if not await self.handler(request, writer):
                    break
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
            self.closed.set()


async def answer_json(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(response("200 OK", CHAT_BODY, "content-type: application/json"))
    return True


class ForwardProxy:
    """A tiny HTTP proxy: CONNECT tunnels (https:// upstreams) and absolute-form requests (http:// ones), one
    request per connection. `seen` keeps each request line and Proxy-Authorization value it received."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        self._server: asyncio.Server | None = None
        self._open = _Connections()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aenter__(self) -> ForwardProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        await self._open.close(self._server)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        request = await read_request(reader)
        if request is None:
            writer.close()
            return
        self.seen.append((request.line, request.headers.get("proxy-authorization")))
        method, target, version = request.line.split(" ")
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            self._open.add(up_writer)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            parts = urlsplit(target)
            assert parts.hostname is not None and parts.port is not None
            up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port)
            self._open.add(up_writer)
            headers = {k: v for k, v in request.headers.items() if not k.startswith("proxy-")}
            head = f"{method} {parts.path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            up_writer.write(head.encode("latin-1") + b"\r\n" + request.body)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
