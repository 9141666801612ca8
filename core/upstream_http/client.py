"""A lean HTTP/1.1 client for upstream calls: bounded keep-alive pools per origin over HTTP11Connection.

Why not httpx2 here: on the gateway's hot path httpx2 costs ~1.3 ms CPU per request (pure-Python h11
parsing, anyio layers, a socket readability probe per request); this costs a small fraction (see
docs/benchmarks.md). It does only what an OpenAI-compatible upstream needs: plain-TCP http:// origins, one
request per connection at a time, Content-Length or chunked bodies, streaming reads.

Retry rule: a request that fails on a *reused* connection before any byte of the response arrived is sent
once more on a new connection (the server closed the idle connection as we picked it; nothing was
processed). Nothing else is retried here: retries with side effects are the router's business."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from urllib.parse import urlsplit

from .connection import HTTP11Connection
from .errors import (
    ClientClosed,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    PoolTimeout,
    RemoteProtocolError,
)
from .settings import UpstreamHTTPSettings

Origin = tuple[str, int]


class UpstreamResponse:
    """A response whose head has arrived. Read the body with aread() or aiter_bytes(); always aclose() (or
    read to the end), which returns the connection to the pool when it can be reused."""

    def __init__(self, pool: _OriginPool, conn: HTTP11Connection) -> None:
        self._pool = pool
        self._conn: HTTP11Connection | None = conn
        self.status = conn.status
        self.headers = conn.headers

    def header(self, name: str) -> str | None:
        """The first value of header `name` (lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            while (chunk := await conn.next_chunk()) is not None:
                yield chunk
        except BaseException:
            self._release(reuse=False)
            raise
        self._release(reuse=True)

    async def aread(self, limit: int | None = None) -> bytes:
        """The whole body (or its first `limit` bytes; the connection is then not reused)."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.aiter_bytes():
            parts.append(chunk)
            size += len(chunk)
            if limit is not None and size >= limit:
                await self.aclose()
                return b"".join(parts)[:limit]
        return b"".join(parts)

    async def aclose(self) -> None:
        """Gives the connection back: reused if the body was read to its end, else closed."""
        conn = self._conn
        if conn is not None:
            self._release(reuse=conn.complete)

    def _release(self, *, reuse: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.release(conn, reuse=reuse and conn.reusable)


class _OriginPool:
    def __init__(self, host: str, port: int, settings: UpstreamHTTPSettings) -> None:
        self.host, self.port = host, port
        self._settings = settings
        self._idle: deque[HTTP11Connection] = deque()
        self._in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.closed = False

    async def acquire(self) -> tuple[HTTP11Connection, bool]:
        """(connection, reused). Waits while the origin is at its connection limit."""
        loop = asyncio.get_running_loop()
        settings = self._settings
        while self._in_use + len(self._idle) >= settings.max_connections_per_origin and not self._idle:
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(settings.pool_timeout_seconds):
                    await waiter
            except TimeoutError:
                raise PoolTimeout(f"no free connection to {self.host}:{self.port}") from None
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if self.closed:
                raise ClientClosed("the client is closed")
        now = loop.time()
        while self._idle:
            conn = self._idle.pop()
            if conn.closed or now - conn.idle_since > settings.keepalive_expiry_seconds:
                conn.close()
                continue
            self._in_use += 1
            return conn, True
        self._in_use += 1
        try:
            return await self._connect(), False
        except BaseException:
            self._in_use -= 1
            self._wake_one()
            raise

    async def _connect(self) -> HTTP11Connection:
        loop = asyncio.get_running_loop()
        settings = self._settings
        try:
            async with asyncio.timeout(settings.connect_timeout_seconds):
                _, protocol = await loop.create_connection(
                    lambda: HTTP11Connection(settings.read_timeout_seconds, settings.read_buffer_high_water_bytes),
                    self.host,
                    self.port,
                )
        except TimeoutError:
            raise ConnectTimeout(f"connecting to {self.host}:{self.port} timed out") from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}") from None
        return protocol

    def release(self, conn: HTTP11Connection, *, reuse: bool) -> None:
        self._in_use -= 1
        if reuse and not self.closed and len(self._idle) < self._settings.max_idle_per_origin:
            conn.mark_idle()
            self._idle.append(conn)
        elif conn.complete:
            conn.close()
        else:
            conn.abort()
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def close(self) -> None:
        self.closed = True
        while self._idle:
            self._idle.pop().close()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)


class UpstreamHTTPClient:
    def __init__(self, settings: UpstreamHTTPSettings | None = None) -> None:
        self._settings = settings or UpstreamHTTPSettings()
        self._pools: dict[Origin, _OriginPool] = {}
        self._closed = False

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        content: bytes = b"",
        read_timeout: float | None = None,
    ) -> UpstreamResponse:
        """Sends the request and returns once the response head arrived (the body is still to be read).
        `read_timeout` overrides the settings' read_timeout_seconds for this request (e.g. a stream's gap)."""
        if self._closed:
            raise ClientClosed("the client is closed")
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only http:// URLs are supported, not {url!r}")
        port = parts.port or 80
        pool = self._pools.get((parts.hostname, port))
        if pool is None:
            pool = self._pools[(parts.hostname, port)] = _OriginPool(parts.hostname, port, self._settings)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        raw = _encode(method, target, parts.netloc, headers, content)
        while True:
            conn, reused = await pool.acquire()
            conn.read_timeout = self._settings.read_timeout_seconds if read_timeout is None else read_timeout
            try:
                await conn.request(raw)
            except (ConnectionClosed, RemoteProtocolError) as exc:
                pool.release(conn, reuse=False)
                stale = reused and not conn.received_any and isinstance(exc, ConnectionClosed)
                if stale:
                    continue  # the idle connection was dead before we used it: nothing was processed
                raise
            except BaseException:
                pool.release(conn, reuse=False)
                raise
            return UpstreamResponse(pool, conn)

    async def aclose(self) -> None:
        self._closed = True
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


def _encode(
    method: str, target: str, host: str, headers: Mapping[str, str] | Iterable[tuple[str, str]], content: bytes
) -> bytes:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    lines = [f"{method} {target} HTTP/1.1", f"host: {host}"]
    for name, value in pairs:
        lowered = name.lower()
        if lowered in ("host", "content-length", "transfer-encoding", "connection"):
            continue
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"header {name!r} contains a line break")
        lines.append(f"{name}: {value}")
    if content or method not in ("GET", "HEAD"):
        lines.append(f"content-length: {len(content)}")
    head = "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n"
    return head + content
