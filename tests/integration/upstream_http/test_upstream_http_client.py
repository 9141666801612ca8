"""core.upstream_http against the fake upstream and hand-written misbehaving servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import orjson
import pytest

from core.upstream_http import (
    ConnectError,
    ConnectionClosed,
    PoolTimeout,
    ReadTimeout,
    RemoteProtocolError,
    UpstreamHTTPClient,
    UpstreamHTTPSettings,
)
from tests.support.fake_upstream import FakeUpstream

HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-test"}
CHAT = orjson.dumps({"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]})
STREAM = orjson.dumps({"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], "stream": True})


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@contextlib.asynccontextmanager
async def client(**settings: float) -> AsyncIterator[UpstreamHTTPClient]:
    c = UpstreamHTTPClient(UpstreamHTTPSettings(**settings))  # type: ignore[arg-type]
    try:
        yield c
    finally:
        await c.aclose()


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


OK = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"


async def read_request(reader: asyncio.StreamReader) -> bool:
    """Reads one request head and its Content-Length body; False at EOF."""
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return False
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return True


async def test_json_request_and_keep_alive_reuse(upstream: FakeUpstream) -> None:
    async with client() as c:
        for _ in range(3):
            response = await c.request("POST", upstream.url + "/v1/chat/completions", headers=HEADERS, content=CHAT)
            assert response.status == 200 and response.is_success
            assert response.header("content-type") == "application/json"
            body = orjson.loads(await response.aread())
            assert body["usage"]["total_tokens"] > 0
        pool = next(iter(c._pools.values()))
        assert len(pool._idle) == 1 and pool._idle[0].requests == 3


async def test_chunked_stream_is_decoded(upstream: FakeUpstream) -> None:
    async with client() as c:
        response = await c.request("POST", upstream.url + "/v1/chat/completions", headers=HEADERS, content=STREAM)
        assert response.header("transfer-encoding") == "chunked"
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
        events = [line for line in body.split(b"\n\n") if line]
        assert events[-1] == b"data: [DONE]"
        assert len(events) >= 21
        pool = next(iter(c._pools.values()))
        assert len(pool._idle) == 1  # fully read: back in the pool


async def test_error_status_body_is_readable(upstream: FakeUpstream) -> None:
    async with client() as c:
        response = await c.request(
            "POST", upstream.url + "/v1/chat/completions", headers={**HEADERS, "x-fake-status": "429"}, content=CHAT
        )
        assert response.status == 429 and not response.is_success
        assert response.header("retry-after") == "1"
        assert orjson.loads(await response.aread())["error"]["type"]


async def test_reset_before_response(upstream: FakeUpstream) -> None:
    async with client() as c:
        with pytest.raises(RemoteProtocolError):
            await c.request(
                "POST", upstream.url + "/v1/chat/completions", headers={**HEADERS, "x-fake-reset": "1"}, content=CHAT
            )


async def test_reset_mid_stream(upstream: FakeUpstream) -> None:
    async with client() as c:
        response = await c.request(
            "POST",
            upstream.url + "/v1/chat/completions",
            headers={**HEADERS, "x-fake-reset-after": "3"},
            content=STREAM,
        )
        with pytest.raises(ConnectionClosed):
            async for _ in response.aiter_bytes():
                pass
        assert not next(iter(c._pools.values()))._idle


async def test_stall_mid_stream_times_out(upstream: FakeUpstream) -> None:
    async with client(read_timeout_seconds=0.2) as c:
        response = await c.request(
            "POST",
            upstream.url + "/v1/chat/completions",
            headers={**HEADERS, "x-fake-stall-after": "2"},
            content=STREAM,
        )
        with pytest.raises(ReadTimeout):
            async for _ in response.aiter_bytes():
                pass


async def test_slow_head_times_out_per_request_override(upstream: FakeUpstream) -> None:
    async with client() as c:
        with pytest.raises(ReadTimeout):
            await c.request(
                "POST",
                upstream.url + "/v1/chat/completions",
                headers={**HEADERS, "x-fake-latency-ms": "500"},
                content=CHAT,
                read_timeout=0.1,
            )


async def test_partial_read_then_close_does_not_reuse(upstream: FakeUpstream) -> None:
    async with client() as c:
        paced = {**HEADERS, "x-fake-chunk-delay-ms": "20"}  # the first read cannot hold the whole body
        response = await c.request("POST", upstream.url + "/v1/chat/completions", headers=paced, content=STREAM)
        async for _ in response.aiter_bytes():
            break
        await response.aclose()
        assert not next(iter(c._pools.values()))._idle


async def test_connection_refused() -> None:
    async with raw_server(lambda r, w: asyncio.sleep(0)) as url:
        pass  # the port is closed again
    async with client() as c:
        with pytest.raises(ConnectError):
            await c.request("GET", url + "/")


async def test_malformed_response() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()

    async with raw_server(handler) as url, client() as c:
        with pytest.raises(RemoteProtocolError):
            await c.request("GET", url + "/")


async def test_stale_pooled_connection_is_retried_once() -> None:
    served = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        # Answers the first request of each connection; drops the connection when a second one arrives.
        await read_request(reader)
        served += 1
        writer.write(OK)
        await writer.drain()
        await read_request(reader)
        writer.close()

    async with raw_server(handler) as url, client() as c:
        for _ in range(2):
            response = await c.request("POST", url + "/x", content=b"{}")
            assert await response.aread() == b"ok"
        assert served == 2


async def test_no_retry_after_response_bytes() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await writer.drain()
        writer.close()

    async with raw_server(handler) as url, client() as c:
        response = await c.request("GET", url + "/")
        with pytest.raises(ConnectionClosed):
            await response.aread()


async def test_pool_bound_and_pool_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader):
            writer.write(OK)
            await writer.drain()

    async with raw_server(handler) as url, client(max_connections_per_origin=1, pool_timeout_seconds=0.1) as c:
        first = await c.request("GET", url + "/")
        with pytest.raises(PoolTimeout):
            await c.request("GET", url + "/")
        waiting = asyncio.ensure_future(c.request("GET", url + "/"))
        await asyncio.sleep(0.01)
        assert await first.aread() == b"ok"  # releases the connection to the waiter
        second = await waiting
        assert await second.aread() == b"ok"


async def test_backpressure_with_a_large_body() -> None:
    size = 4 * 1024 * 1024

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
        writer.write(b"x" * size)
        await writer.drain()

    async with raw_server(handler) as url, client(read_buffer_high_water_bytes=64 * 1024) as c:
        response = await c.request("GET", url + "/")
        conn = response._conn
        assert conn is not None
        total = 0
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            assert conn._buffered <= 64 * 1024 + 256 * 1024  # bounded by high water plus one socket read
            await asyncio.sleep(0)
        assert total == size
