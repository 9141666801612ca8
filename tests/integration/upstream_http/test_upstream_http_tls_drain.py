"""core.upstream_http over TLS (a self-signed certificate on 127.0.0.1) and draining a body after the
caller is done with it (an SSE stream's closing bytes after `[DONE]`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator

import orjson
import pytest

from core.upstream_http import ConnectError, ConnectionClosed, UpstreamHTTPClient, UpstreamHTTPSettings
from tests.integration.upstream_http.upstream_tls_server import TLSFakeUpstream
from tests.support.fake_upstream import FakeUpstream

HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-test"}
CHAT = orjson.dumps({"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]})
STREAM = orjson.dumps({"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], "stream": True})
DONE = b"data: [DONE]"


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def tls_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSFakeUpstream]:
    with TLSFakeUpstream(tmp_path_factory.mktemp("tls")) as fake:
        yield fake


async def read_to_done(response: object) -> bytes:
    """Body bytes up to and including the `[DONE]` event, leaving the rest unread."""
    from core.upstream_http import UpstreamResponse

    assert isinstance(response, UpstreamResponse)
    seen = b""
    while DONE not in seen:
        chunk = await response.next_chunk()
        assert chunk is not None
        seen += chunk
    return seen


async def test_https_request_verifies_and_keeps_alive(tls_upstream: TLSFakeUpstream) -> None:
    c = UpstreamHTTPClient(ssl_context=tls_upstream.client_context())
    try:
        for _ in range(3):
            response = await c.request(
                "POST", tls_upstream.base_url() + "/chat/completions", headers=HEADERS, content=CHAT
            )
            assert response.status == 200
            assert orjson.loads(await response.aread())["usage"]["total_tokens"] > 0
        stream = await c.request("POST", tls_upstream.base_url() + "/chat/completions", headers=HEADERS, content=STREAM)
        assert DONE in await stream.aread()
        assert c.connections_opened == 1
        # SNI and the host-name check use the URL's host: `localhost` is in the certificate too.
        response = await c.request(
            "POST", tls_upstream.base_url("localhost") + "/chat/completions", headers=HEADERS, content=CHAT
        )
        assert response.status == 200
        await response.aread()
    finally:
        await c.aclose()


async def test_https_with_an_untrusted_certificate_is_a_connect_error(tls_upstream: TLSFakeUpstream) -> None:
    # The default context trusts the system CAs only, which did not sign this certificate.
    c = UpstreamHTTPClient()
    try:
        with pytest.raises(ConnectError):
            await c.request("POST", tls_upstream.base_url() + "/chat/completions", headers=HEADERS, content=CHAT)
    finally:
        await c.aclose()


async def test_other_schemes_are_refused() -> None:
    c = UpstreamHTTPClient()
    try:
        with pytest.raises(ValueError, match="http:// and https://"):
            await c.request("GET", "ftp://127.0.0.1/x")
    finally:
        await c.aclose()


async def test_drain_after_done_returns_the_connection(upstream: FakeUpstream) -> None:
    c = UpstreamHTTPClient()
    try:
        for _ in range(3):
            response = await c.request("POST", upstream.url + "/v1/chat/completions", headers=HEADERS, content=STREAM)
            await read_to_done(response)
            assert await response.adrain(64 * 1024, 1.0)
        assert c.connections_opened == 1
    finally:
        await c.aclose()


async def test_closing_before_the_end_never_reuses_the_connection(upstream: FakeUpstream) -> None:
    c = UpstreamHTTPClient()
    try:
        # Paced chunks: the first read cannot hold the whole body.
        paced = {**HEADERS, "x-fake-chunk-delay-ms": "20"}
        response = await c.request("POST", upstream.url + "/v1/chat/completions", headers=paced, content=STREAM)
        await response.next_chunk()
        await response.aclose()
        with pytest.raises(ConnectionClosed):
            await response.next_chunk()
        response = await c.request("POST", upstream.url + "/v1/chat/completions", headers=HEADERS, content=CHAT)
        await response.aread()
        assert c.connections_opened == 2
    finally:
        await c.aclose()


@contextlib.asynccontextmanager
async def endless_stream(pause_s: float) -> AsyncIterator[str]:
    """A chunked SSE body that sends `[DONE]` and then keeps going, one chunk every `pause_s`."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        event = DONE + b"\n\n"
        writer.write(b"%x\r\n%s\r\n" % (len(event), event))
        with contextlib.suppress(ConnectionError):
            while True:
                writer.write(b"400\r\n" + b":" * 1023 + b"\n\r\n")
                await writer.drain()
                await asyncio.sleep(pause_s)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(("pause_s", "max_bytes"), [(0.0, 16 * 1024), (0.02, 10 * 1024 * 1024)])
async def test_drain_is_bounded_in_bytes_and_time(pause_s: float, max_bytes: int) -> None:
    async with endless_stream(pause_s) as url:
        c = UpstreamHTTPClient(UpstreamHTTPSettings(read_timeout_seconds=5))
        try:
            response = await c.request("POST", url + "/", content=b"{}")
            await read_to_done(response)
            started = time.monotonic()
            assert not await response.adrain(max_bytes, 0.2)
            assert time.monotonic() - started < 1.5
            with pytest.raises(ConnectionClosed):
                await response.next_chunk()
        finally:
            await c.aclose()
