"""The one aiohttp ClientSession that every upstream deployment of a ProviderPool shares.

Why aiohttp: its C response parser, pooling, TLS, gzip/deflate, 1xx handling and proxies cost ~0.1 ms CPU per
request more than the hand-written client it replaced, which had none of those (`python -m bench.upstream_client`;
docs/benchmarks.md). Its `trust_env=True` is not used: it costs ~0.3-0.6 ms more per request (see endpoint.py).

Keep-alive connections are pooled per (host, port, TLS context, proxy), bounded per upstream host by
`upstream_max_connections`, and an idle one older than `upstream_keepalive_expiry_seconds` is closed instead
of reused. A POST is never sent twice: aiohttp only retries idempotent methods on a dropped keep-alive
connection, and an idle connection the upstream has already closed is discarded before anything is written to
it. A request whose connection fails once written is an error; the router may then try another deployment,
as a new and visible attempt.

The session is made on first use, inside the event loop that serves the requests, and belongs to that loop."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any

import aiohttp

# What aiohttp's connector hands its socket factory: one getaddrinfo() entry.
AddrInfo = tuple[int, int, int, str, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class HTTPPoolSettings:
    # Connections to one upstream host and port, busy and idle together (a request beyond waits for one).
    max_connections_per_host: int = 100
    # An idle keep-alive connection older than this is closed rather than reused (servers drop idle ones, often
    # at 5-75 s).
    keepalive_expiry_seconds: float = 5.0
    # Body bytes aiohttp reads per chunk; reading pauses when twice this is buffered ahead of the reader.
    read_bufsize: int = 256 * 1024


class UpstreamSession:
    def __init__(self, settings: HTTPPoolSettings | None = None) -> None:
        self.settings = settings or HTTPPoolSettings()
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Connections made so far (keep-alive reuse keeps this low; tests and stats read it).
        self.connections_opened = 0

    def get(self) -> aiohttp.ClientSession:
        session = self._session
        if session is not None and self._loop is asyncio.get_running_loop():
            return session
        if session is not None and not session.closed:
            raise RuntimeError("an upstream session serves the event loop it was first used in")
        return self._open()

    def _open(self) -> aiohttp.ClientSession:
        settings = self.settings
        connector = aiohttp.TCPConnector(
            limit=0,
            limit_per_host=settings.max_connections_per_host,
            keepalive_timeout=settings.keepalive_expiry_seconds,
            socket_factory=self._new_socket,
        )
        self._loop = asyncio.get_running_loop()
        self._session = aiohttp.ClientSession(
            connector=connector,
            # Upstreams are shared by every caller: no cookie from one reply may ride along on another request.
            cookie_jar=aiohttp.DummyCookieJar(),
            # Proxies are resolved once per deployment (core.providers.endpoint), not per request.
            trust_env=False,
            read_bufsize=settings.read_bufsize,
            raise_for_status=False,
        )
        return self._session

    def _new_socket(self, addr_info: AddrInfo) -> socket.socket:
        family, type_, proto, _, _ = addr_info
        sock = socket.socket(family=family, type=type_, proto=proto)
        self.connections_opened += 1
        return sock

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
