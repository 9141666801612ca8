"""A lean HTTP/1.1 client for upstream calls: bounded keep-alive pools per origin over HTTP11Connection.

Why not httpx2 here: on the gateway's hot path httpx2 costs ~1.3 ms CPU per request (pure-Python h11
parsing, anyio layers, a socket readability probe per request); this costs a small fraction (see
docs/benchmarks.md). It does only what an OpenAI-compatible upstream needs: http:// and https:// origins (TLS
verified against the system CA store unless an ssl_context is given), one request per connection at a time,
Content-Length or chunked bodies, streaming reads. No proxies, HTTP/2 or content-encoding (it sends no
accept-encoding, so upstreams answer identity).

Retry rule: a request that fails on a *reused* connection before any byte of the response arrived is sent
once more on a new connection (the server closed the idle connection as we picked it; nothing was
processed). Nothing else is retried here: retries with side effects are the router's business."""

from __future__ import annotations

import asyncio
import ssl
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
    UpstreamHTTPError,
)
from .settings import UpstreamHTTPSettings
from .tls import default_ssl_context

Origin = tuple[str, str, int]  # scheme, host, port
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UpstreamResponse:
    """A response whose head has arrived. Read the body with aread() or aiter_bytes(); always aclose() (or
    read to the end), which returns the connection to the pool when it can be reused."""

    def __init__(self, pool: _OriginPool, conn: HTTP11Connection) -> None:
        self._pool = pool
        self._conn: HTTP11Connection | None = conn
        self._abandoned = False  # given up (closed, failed, cancelled) before the body was complete
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

    async def next_chunk(self) -> bytes | None:
        """The next body bytes, or None at the end of the body (the connection then goes back to the pool).
        Any error or cancellation closes the connection: a half-read one is never reused."""
        conn = self._conn
        if conn is None:
            if self._abandoned:
                raise ConnectionClosed("the response was closed before its body was read")
            return None
        try:
            chunk = await conn.next_chunk()
        except BaseException:
            self._release(reuse=False)
            raise
        if chunk is None:
            self._release(reuse=True)
        return chunk

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        while (chunk := await self.next_chunk()) is not None:
            yield chunk

    async def adrain(self, max_bytes: int, max_seconds: float) -> bool:
        """Reads and discards the rest of the body so the connection can be reused (e.g. an SSE stream's
        closing chunk after `[DONE]`). Gives up, closing the connection, past `max_bytes` or `max_seconds`
        in all. True when the connection went back to the pool."""
        conn = self._conn
        if conn is None:
            return False
        loop = conn.loop
        deadline = loop.time() + max_seconds
        drained = 0
        try:
            while True:
                conn.read_timeout = max(deadline - loop.time(), 0.0)
                chunk = await conn.next_chunk()
                if chunk is None:
                    break
                drained += len(chunk)
                if drained > max_bytes:
                    self._release(reuse=False)
                    return False
        except UpstreamHTTPError:
            self._release(reuse=False)
            return False
        except BaseException:
            self._release(reuse=False)
            raise
        reused = conn.reusable
        self._release(reuse=True)
        return reused

    async def aread(self, limit: int | None = None) -> bytes:
        """The whole body (or its first `limit` bytes; the connection is then not reused)."""
        parts: list[bytes] = []
        size = 0
        while (chunk := await self.next_chunk()) is not None:
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
            self._abandoned = not conn.consumed
            self._pool.release(conn, reuse=reuse and conn.reusable)


class _OriginPool:
    def __init__(
        self,
        host: str,
        port: int,
        settings: UpstreamHTTPSettings,
        tls: ssl.SSLContext | None,
        client: UpstreamHTTPClient,
    ) -> None:
        self.host, self.port = host, port
        self._settings = settings
        self._tls = tls
        self._client = client
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
                # With ssl=, asyncio sends SNI and checks the certificate against `host` (the handshake is part
                # of connecting, so the connect timeout bounds it; a bad certificate is an ssl.SSLError).
                _, protocol = await loop.create_connection(
                    lambda: HTTP11Connection(settings.read_timeout_seconds, settings.read_buffer_high_water_bytes),
                    self.host,
                    self.port,
                    ssl=self._tls,
                )
        except TimeoutError:
            raise ConnectTimeout(f"connecting to {self.host}:{self.port} timed out") from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to {self.host}:{self.port}: {exc.strerror or exc}") from None
        self._client.connections_opened += 1
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
    """`ssl_context` verifies https:// origins (default: the system CA store, see tls.py)."""

    def __init__(
        self, settings: UpstreamHTTPSettings | None = None, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._settings = settings or UpstreamHTTPSettings()
        self._ssl_context = ssl_context
        self._pools: dict[Origin, _OriginPool] = {}
        self._closed = False
        # Connections made so far (a stream that ends cleanly must not cost a new one; tests and stats read it).
        self.connections_opened = 0

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
        scheme = parts.scheme
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"only http:// and https:// URLs are supported, not {url!r}")
        port = parts.port or _DEFAULT_PORTS[scheme]
        origin = (scheme, parts.hostname, port)
        pool = self._pools.get(origin)
        if pool is None:
            tls = (self._ssl_context or default_ssl_context()) if scheme == "https" else None
            pool = self._pools[origin] = _OriginPool(parts.hostname, port, self._settings, tls, self)
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
