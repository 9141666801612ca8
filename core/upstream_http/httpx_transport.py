"""UpstreamHTTPClient as an httpx2 transport: `httpx2.AsyncClient(transport=UpstreamHTTPTransport())`.

The smallest swap for code written against httpx2 (core/providers/openai_compatible.py already accepts a
transport): httpcore2's connection pool and h11 parser go, httpx2's client API stays. Errors become the
httpx2 exceptions callers already handle; the request's read timeout is honoured (its connect and pool
timeouts are the client settings')."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2

from .client import UpstreamHTTPClient, UpstreamResponse
from .errors import (
    ConnectError,
    ConnectTimeout,
    PoolTimeout,
    ReadTimeout,
    RemoteProtocolError,
    UpstreamHTTPError,
)
from .settings import UpstreamHTTPSettings


def _as_httpx(exc: UpstreamHTTPError, request: httpx2.Request) -> httpx2.HTTPError:
    kinds: list[tuple[type[UpstreamHTTPError], type[httpx2.HTTPError]]] = [
        (ConnectTimeout, httpx2.ConnectTimeout),
        (ConnectError, httpx2.ConnectError),
        (ReadTimeout, httpx2.ReadTimeout),
        (PoolTimeout, httpx2.PoolTimeout),
        (RemoteProtocolError, httpx2.RemoteProtocolError),
    ]
    for ours, theirs in kinds:
        if isinstance(exc, ours):
            return theirs(str(exc), request=request)  # type: ignore[call-arg]
    return httpx2.TransportError(str(exc), request=request)


class _Body(httpx2.AsyncByteStream):
    def __init__(self, response: UpstreamResponse, request: httpx2.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                yield chunk
        except UpstreamHTTPError as exc:
            raise _as_httpx(exc, self._request) from None

    async def aclose(self) -> None:
        await self._response.aclose()


class UpstreamHTTPTransport(httpx2.AsyncBaseTransport):
    def __init__(self, settings: UpstreamHTTPSettings | None = None) -> None:
        self._client = UpstreamHTTPClient(settings)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        timeout = request.extensions.get("timeout") or {}
        body = await request.aread()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            response = await self._client.request(
                request.method, str(request.url), headers=headers, content=body, read_timeout=timeout.get("read")
            )
        except UpstreamHTTPError as exc:
            raise _as_httpx(exc, request) from None
        return httpx2.Response(
            response.status,
            headers=response.headers,
            stream=_Body(response, request),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()
