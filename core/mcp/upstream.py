"""HTTP to the upstream MCP servers: one pooled aiohttp session for all of them, the configured headers only
(the caller's credentials never leave the gateway), connect and between-reads timeouts per server, and the
answer's body as it arrives: whole SSE events for an event stream, bounded chunks for anything else."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from core.errors import UpstreamError
from core.mcp.registry import McpServerEntry
from core.providers.http_session import HTTPPoolSettings, UpstreamSession

# Body bytes per frame for a non-stream answer (well under the gRPC message limit).
BODY_CHUNK_BYTES = 256 * 1024
# An SSE event ends at a blank line; the stream's line ends may be CRLF, LF or CR.
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
SSE = "text/event-stream"
# The client headers the MCP transport defines that pass to the upstream unchanged (besides those the
# gateway sets itself): the 2026-07-28 routing headers and W3C trace context.
PASSED_HEADERS = ("mcp-method", "mcp-name", "traceparent", "tracestate")
PARAM_HEADER_PREFIX = "mcp-param-"


def passes(header: str) -> bool:
    return header in PASSED_HEADERS or header.startswith(PARAM_HEADER_PREFIX)


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    status: int
    content_type: str
    session_id: str | None
    protocol_version: str | None
    response: aiohttp.ClientResponse

    @property
    def is_stream(self) -> bool:
        return self.content_type.split(";", 1)[0].strip().lower() == SSE


def unreachable(server: str, exc: BaseException) -> UpstreamError:
    what = "did not answer in time" if isinstance(exc, TimeoutError) else "could not be reached"
    return UpstreamError(f"The MCP server {server!r} {what}.", upstream_status=502)


class McpUpstream:
    def __init__(self, pool: HTTPPoolSettings) -> None:
        self._session = UpstreamSession(pool)

    @asynccontextmanager
    async def call(
        self,
        server: McpServerEntry,
        method: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
        *,
        stream: bool = False,
    ) -> AsyncIterator[UpstreamAnswer]:
        """One request; UpstreamError (502) when the server cannot be reached or does not answer in time.
        `stream`: a standing event stream (GET), which may be silent for long, has no between-reads timeout."""
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=server.connect_timeout_seconds,
            sock_read=None if stream else server.read_timeout_seconds,
        )
        request_headers = {**server.headers, **headers}
        try:
            response = await self._session.get().request(
                method, server.url, headers=request_headers, data=body, timeout=timeout, allow_redirects=False
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise unreachable(server.name, exc) from None
        try:
            yield UpstreamAnswer(
                status=response.status,
                content_type=response.headers.get("content-type", ""),
                session_id=response.headers.get("mcp-session-id"),
                protocol_version=response.headers.get("mcp-protocol-version"),
                response=response,
            )
        finally:
            response.release()

    async def aclose(self) -> None:
        await self._session.aclose()


async def body_chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """A non-stream body in bounded chunks, as they arrive."""
    async for chunk in response.content.iter_chunked(BODY_CHUNK_BYTES):
        yield chunk


async def sse_events(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """An event stream as its events, each with its terminating blank line, yielded as soon as it is complete
    (bytes unchanged). A trailing partial event at the end of the stream is yielded as is."""
    buffer = b""
    async for chunk in response.content.iter_any():
        buffer += chunk
        start = 0
        ends = list(_EVENT_END.finditer(buffer))
        for match in ends:
            yield buffer[start : match.end()]
            start = match.end()
        buffer = buffer[start:]
    if buffer.strip():
        yield buffer


def event_data(event: bytes) -> bytes:
    """The data of one SSE event (its `data:` lines joined by newlines)."""
    lines = []
    for line in event.splitlines():
        if line.startswith(b"data:"):
            value = line[5:]
            lines.append(value[1:] if value.startswith(b" ") else value)
    return b"\n".join(lines)
