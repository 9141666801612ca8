"""Real MCP servers on loopback for the proxy tests: the reference `@modelcontextprotocol/server-everything`
(npm, handshake era, streamable HTTP) and a server built with the official Python SDK that speaks the
stateless 2026-07-28 generation. Both record the headers they were sent, or can be asked for them."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from mcp.server.mcpserver import Context, MCPServer

from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING_BIN = ROOT / "node_modules" / ".bin" / "mcp-server-everything"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        httpx2.get(url, timeout=1)
    except httpx2.HTTPError:
        return False
    return True


@contextmanager
def everything_server() -> Iterator[str]:
    """server-everything in streamable-HTTP mode; yields its endpoint `http://127.0.0.1:PORT/mcp`."""
    if not EVERYTHING_BIN.exists():
        raise RuntimeError("run `make` (npm install) first: node_modules/.bin/mcp-server-everything is missing")
    port = _free_port()
    proc = subprocess.Popen(
        ["node", str(EVERYTHING_BIN), "streamableHttp"],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        wait_until(lambda: proc.poll() is not None or _answers(url), within=30, what="server-everything to listen")
        if proc.poll() is not None:
            raise RuntimeError("server-everything exited at startup")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def modern_server() -> MCPServer:
    """Tools for the 2026-07-28 tests: echo, and a slow one that reports progress."""
    server = MCPServer("aqueduct-modern-test")

    @server.tool()
    def echo(message: str) -> str:
        """Echoes the message back."""
        return f"Echo: {message}"

    @server.tool()
    async def count_slowly(steps: int, ctx: Context) -> str:
        """Reports progress once per step, then answers."""
        for step in range(1, steps + 1):
            await ctx.report_progress(step, steps, f"step {step}")
            await asyncio.sleep(0.05)
        return f"counted {steps}"

    return server


class RecordingApp:
    """ASGI middleware keeping every request's headers (lower-case names)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.headers.append({k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]})
        await self.app(scope, receive, send)


@contextmanager
def modern_upstream() -> Iterator[tuple[str, RecordingApp]]:
    """The Python SDK server (stateless) on its own thread and event loop; yields (endpoint URL, recorder)."""
    app = RecordingApp(modern_server().streamable_http_app(stateless_http=True))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, access_log=False))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="the modern MCP server to listen")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp", app
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
