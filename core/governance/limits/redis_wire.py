"""A lean, pipelined Redis connection for the two calls on the request path (admission and settlement scripts).

redis-py costs ~0.08 ms of CPU for a PING and ~0.14 ms for an admission (connection-pool checkout, per-call
timeout machinery, reply objects): with one admission per request that was the largest single item of a request
on the PostgreSQL + Redis configuration. Here one connection carries every call: a command is written at once,
its future queued, and replies (Redis answers in order) resolve the futures in order as hiredis parses them. No
pool, no per-call task. Errors are redis-py's exception types, so core.governance.limits.failover treats them as before;
everything else (ping, usage, probes) stays on redis-py.

Supports redis:// and rediss:// URLs with user, password and database (`redis://user:pw@host:port/db`)."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

DEFAULT_PORT = 6379

Arg = str | int | float | bytes | memoryview


class _RespProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader(replyError=ResponseError)
        self.waiters: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports do not derive from asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            if not self.waiters:
                self.abort()  # a reply nobody asked for: the stream is out of step, never trust it again
                return
            waiter = self.waiters.popleft()
            if waiter.done():
                continue  # its caller gave up (cancelled); the reply still had to be read past
            if isinstance(reply, ResponseError):
                waiter.set_exception(reply)
            else:
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        error = RedisConnectionError(f"Redis connection lost: {exc}" if exc else "Redis closed the connection")
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error)

    def abort(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.abort()


class RedisWire:
    """`timeout` bounds connecting and each call; a call that times out drops the connection (the next call
    reconnects), so a stuck Redis fails fast instead of stacking up requests behind it."""

    def __init__(self, url: str, *, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            raise ValueError(f"unsupported Redis URL for the rate limiter: {parts.scheme}://…")
        self._host = parts.hostname
        self._port = parts.port or DEFAULT_PORT
        self._ssl = ssl.create_default_context() if parts.scheme == "rediss" else None
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        path = parts.path.strip("/")
        self._db = int(path) if path else 0
        self._timeout = timeout
        self._protocol: _RespProtocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def execute(self, *args: Arg) -> Any:
        protocol = self._protocol
        if protocol is None or protocol.lost:
            protocol = await self._connect()
        return await self._send(protocol, args)

    async def _send(self, protocol: _RespProtocol, args: tuple[Arg, ...]) -> Any:
        assert protocol.transport is not None
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        protocol.waiters.append(waiter)
        # hiredis' stub declares a 1-tuple; it takes any number of arguments.
        protocol.transport.write(hiredis.pack_command(cast(Any, args)))
        try:
            async with asyncio.timeout(self._timeout):
                return await waiter
        except TimeoutError:
            protocol.abort()
            raise RedisTimeoutError(f"no Redis reply within {self._timeout:g} s") from None

    async def _connect(self) -> _RespProtocol:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            protocol = self._protocol
            if protocol is not None and not protocol.lost:
                return protocol  # another call connected while this one waited
            loop = asyncio.get_running_loop()
            try:
                async with asyncio.timeout(self._timeout):
                    _, protocol = await loop.create_connection(_RespProtocol, self._host, self._port, ssl=self._ssl)
            except TimeoutError:
                raise RedisTimeoutError(f"connecting to Redis at {self._host}:{self._port} timed out") from None
            except OSError as exc:
                raise RedisConnectionError(f"cannot connect to Redis at {self._host}:{self._port}: {exc}") from None
            try:
                if self._password is not None:
                    auth = (self._username, self._password) if self._username else (self._password,)
                    await self._send(protocol, ("AUTH", *auth))
                if self._db:
                    await self._send(protocol, ("SELECT", self._db))
            except BaseException:
                protocol.abort()
                raise
            self._protocol = protocol
            return protocol

    def close(self) -> None:
        """Drops the connection (the next call reconnects): after an outage it is a dead socket."""
        if self._protocol is not None:
            self._protocol.abort()
            self._protocol = None
