"""One HTTP/1.1 keep-alive connection: an asyncio Protocol fed to httptools' C response parser.

A connection carries one request at a time. The response head is awaited with request(); the body is then
pulled chunk by chunk with next_chunk() (httptools has already removed chunked framing and honours
Content-Length). Reading the socket pauses while more than the high-water mark is buffered and resumes as the
reader drains it, so a slow consumer slows the upstream instead of filling memory. The connection may go
back to the pool only after a complete response on a keep-alive connection (`reusable`)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

import httptools

from .errors import ConnectionClosed, ReadTimeout, RemoteProtocolError, UpstreamHTTPError

Headers = list[tuple[str, str]]


class HTTP11Connection(asyncio.Protocol):
    def __init__(self, read_timeout: float, high_water: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.read_timeout = read_timeout
        self._high_water = high_water
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.requests = 0
        self._parser: httptools.HttpResponseParser | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._error: UpstreamHTTPError | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._name = b""
        self.status = 0
        self.headers: Headers = []
        self.head_done = False
        self.complete = False
        self.received_any = False
        self._close_delimited = False
        self._keep_alive = False

    # --- asyncio.Protocol -------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        if self._parser is None:
            # Bytes while no request is in flight: the server is misbehaving; never reuse this connection.
            self.abort()
            return
        self.received_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(RemoteProtocolError(f"malformed HTTP response: {exc}"))
            self.abort()
            return
        if self._buffered > self._high_water and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._parser is not None and not self.complete:
            if self.head_done and self._close_delimited:
                # A body without Content-Length or chunked framing ends when the server closes.
                self.on_message_complete()
            else:
                self._fail(ConnectionClosed("the upstream closed the connection before the response was complete"))
        self._wake()

    # --- httptools callbacks ----------------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        self.status = self._parser.get_status_code()
        self.head_done = True
        names = {name for name, _ in self.headers}
        self._close_delimited = "content-length" not in names and "transfer-encoding" not in names
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        self._wake()

    def on_message_complete(self) -> None:
        # Asked now: httptools resets its keep-alive state once the message is over.
        self._keep_alive = self._parser is not None and self._parser.should_keep_alive() and not self._close_delimited
        self.complete = True
        self._wake()

    # --- the client's side ------------------------------------------------------------------------------
    @property
    def consumed(self) -> bool:
        """The whole body arrived and the reader took all of it."""
        return self.complete and not self._chunks

    @property
    def reusable(self) -> bool:
        return (
            self.complete
            and not self.closed
            and not self._chunks
            and self._keep_alive
            and self.transport is not None
            and not self.transport.is_closing()
        )

    async def request(self, raw: bytes) -> None:
        """Sends `raw` (head and body) and waits for the response head."""
        if self.closed or self.transport is None:
            raise ConnectionClosed("the connection is closed")
        self._parser = httptools.HttpResponseParser(self)
        self.status, self.headers, self.head_done, self.complete = 0, [], False, False
        self.received_any = False
        self._keep_alive = False
        self._error = None
        self.requests += 1
        self.transport.write(raw)
        while not self.head_done:
            await self._wait()

    async def next_chunk(self) -> bytes | None:
        """Every body byte received and not yet returned (at least one), or None once the body is complete.
        A burst of HTTP chunks (an SSE stream's events) comes back as one piece: one wake-up, not one each."""
        chunks = self._chunks
        while not chunks:
            if self.complete:
                return None
            await self._wait()
        chunk = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered -= len(chunk)
        if self._paused and self._buffered <= self._high_water // 2 and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return chunk

    async def _wait(self) -> None:
        if self._error is not None:
            raise self._error
        if self.closed:
            raise ConnectionClosed("the upstream closed the connection before the response was complete")
        waiter = self._waiter = self.loop.create_future()
        self._timer = self.loop.call_later(self.read_timeout, self._on_timeout, waiter)
        try:
            await waiter
        finally:
            self._timer.cancel()
            self._waiter = None
        if self._error is not None:
            raise self._error

    def _on_timeout(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(ReadTimeout(f"no response bytes for {self.read_timeout:g} s"))
        self.abort()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: UpstreamHTTPError) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    def mark_idle(self) -> None:
        """Back in the pool: bytes arriving now are unsolicited and make the connection unusable."""
        self._parser = None
        self.idle_since = self.loop.time()

    def close(self) -> None:
        """Closes cleanly (FIN after anything still buffered is written). A TLS connection is aborted instead:
        its clean close waits for the peer's close_notify, which may never come once the event loop stops, and
        leaves the socket to the garbage collector; a connection we close has nothing left to send anyway."""
        self.closed = True
        if self.transport is None:
            return
        if self.transport.get_extra_info("ssl_object") is not None:
            self.transport.abort()
        else:
            self.transport.close()

    def abort(self) -> None:
        """Drops the connection at once (mid-response, after a timeout or a protocol error)."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
