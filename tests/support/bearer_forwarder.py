"""A loopback reverse proxy that adds `Authorization: Bearer <token>` to every request and streams the answer
back byte for byte. Tools that cannot send headers of their own (the MCP conformance suite's client) reach the
gateway through it; everything else (Host, Origin, Mcp-Session-Id, Last-Event-ID ...) passes unchanged."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import uvicorn

from tests.support.waiting import wait_until

# Hop-by-hop headers belong to one connection; the raw body is relayed, so Content-Encoding/-Length stay valid.
_HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade", b"proxy-connection"}


class BearerForwarder:
    """ASGI app forwarding every request to `target` (path and query of the request are ignored)."""

    def __init__(self, target: str, token: str) -> None:
        self.target = target
        self.auth = f"Bearer {token}".encode()
        self.client: httpx2.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self.client is None:
            self.client = httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=None))
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [
            (k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP and k.lower() != b"authorization"
        ]
        headers.append((b"authorization", self.auth))
        request = self.client.build_request(scope["method"], self.target, headers=headers, content=body)
        response = await self.client.send(request, stream=True)
        try:
            out = [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP_BY_HOP]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


@contextmanager
def bearer_forwarder(target: str, token: str) -> Iterator[str]:
    """Runs the forwarder on its own thread and event loop; yields its URL `http://127.0.0.1:PORT/mcp`."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = BearerForwarder(target, token)
    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)

    async def serve() -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            if app.client is not None:
                await app.client.aclose()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="the bearer forwarder to listen")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
