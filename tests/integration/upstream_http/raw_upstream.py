"""Byte-level upstream servers on 127.0.0.1 for the HTTP edge cases (raw asyncio sockets, optionally TLS), a
tiny forward/CONNECT proxy, and a provider built from litellm_params the way the gateway builds it."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Self
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


class LoopbackServer:
    """A TCP server on 127.0.0.1 (TLS with `tls`) calling `_serve` per connection. Leaving it closes the
    connections still open and lets their handlers end (in Python 3.11 Server.close() leaves accepted
    connections open, and a handler cancelled at loop shutdown is logged as an error)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def track(self, writer: asyncio.StreamWriter) -> None:
        """Closes `writer` (an outgoing connection of the handler) when the server goes."""
        self._writers.add(writer)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.track(writer)
        await self._serve(reader, writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class RawUpstream(LoopbackServer):
    """Calls `handler(request, writer)` for each request received; the handler writes the answer and returns
    whether the connection stays open for another request. Counts connections and keeps every request."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(tls)
        self.handler = handler
        self.requests: list[Request] = []
        self.connections = 0
        self.closed = asyncio.Event()

    def base_url(self, host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/v1"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
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


class ForwardProxy(LoopbackServer):
    """A tiny HTTP proxy: CONNECT tunnels (https:// upstreams) and absolute-form requests (http:// ones), one
    request per connection. `seen` keeps each request line and Proxy-Authorization value it received."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        if request is None:
            writer.close()
            return
        self.seen.append((request.line, request.headers.get("proxy-authorization")))
        method, target, version = request.line.split(" ")
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            self.track(up_writer)
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            parts = urlsplit(target)
            assert parts.hostname is not None and parts.port is not None
            up_reader, up_writer = await asyncio.open_connection(parts.hostname, parts.port)
            self.track(up_writer)
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
