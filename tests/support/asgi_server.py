"""An ASGI app served by uvicorn (httptools) on 127.0.0.1, on a port the OS picks, inside the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from tests.support.waiting import async_wait_until


@asynccontextmanager
async def serve_on_loopback(app: Any) -> AsyncIterator[str]:
    """Yields `http://127.0.0.1:PORT` once uvicorn listens; stops it (lifespan shutdown included) on exit."""
    server = uvicorn.Server(uvicorn.Config(app, http="httptools", lifespan="on", log_config=None, access_log=False))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        # uvicorn has a flag, not an event, for "listening"; a server that dies while starting fails at once.
        await async_wait_until(lambda: server.started or task.done(), interval=0.005, what="uvicorn to listen")
        if task.done():
            task.result()
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()
