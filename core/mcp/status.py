"""`aqueduct mcp status`: is a server reachable, which protocol versions does it speak, how many sessions are
open on it. The probe asks `server/discover` (2026-07-28) first and falls back to an `initialize` handshake,
whose upstream session it ends at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from core.errors import UpstreamError
from core.mcp.message import PROTOCOL_VERSION_META_KEY
from core.mcp.registry import McpServerEntry
from core.mcp.sessions import SessionStore
from core.mcp.upstream import McpUpstream, UpstreamAnswer, event_data, sse_events

MODERN_VERSION = "2026-07-28"
HANDSHAKE_VERSION = "2025-11-25"
_CLIENT = {"name": "aqueduct-status", "version": "1"}


@dataclass(frozen=True, slots=True)
class ServerStatus:
    name: str
    reachable: bool
    error: str
    protocol_versions: list[str]
    open_sessions: int


async def _result(answer: UpstreamAnswer) -> dict[str, Any] | None:
    """The `result` of a probe's answer (JSON or the first answer event of a stream), if it has one."""
    if answer.status != 200:
        return None
    bodies: list[bytes] = []
    if answer.is_stream:
        async for event in sse_events(answer.response):
            bodies.append(event_data(event))
            if b'"result"' in bodies[-1] or b'"error"' in bodies[-1]:
                break
    else:
        bodies.append(await answer.response.read())
    for body in bodies:
        try:
            loaded = orjson.loads(body)
        except orjson.JSONDecodeError:
            continue
        result = loaded.get("result") if isinstance(loaded, dict) else None
        if isinstance(result, dict):
            return result
    return None


async def probe(upstream: McpUpstream, sessions: SessionStore, server: McpServerEntry) -> ServerStatus:
    count, versions = await sessions.open_sessions(server.name)
    seen = set(versions)
    json_headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    try:
        discover = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "server/discover",
            "params": {"_meta": {PROTOCOL_VERSION_META_KEY: MODERN_VERSION, _CAPS: {}, _INFO: _CLIENT}},
        }
        modern = {**json_headers, "mcp-protocol-version": MODERN_VERSION, "mcp-method": "server/discover"}
        async with upstream.call(server, "POST", modern, orjson.dumps(discover)) as answer:
            result = await _result(answer)
        supported = result.get("supportedVersions") if result else None
        if isinstance(supported, list):
            seen |= {v for v in supported if isinstance(v, str)}
        else:
            initialize = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"protocolVersion": HANDSHAKE_VERSION, "capabilities": {}, "clientInfo": _CLIENT},
            }
            async with upstream.call(server, "POST", json_headers, orjson.dumps(initialize)) as answer:
                result = await _result(answer)
                upstream_session = answer.session_id
            if result and isinstance(result.get("protocolVersion"), str):
                seen.add(result["protocolVersion"])
            if upstream_session:
                async with upstream.call(server, "DELETE", {"mcp-session-id": upstream_session}):
                    pass
    except UpstreamError as exc:
        return ServerStatus(server.resource_name, False, exc.message, sorted(seen, reverse=True), count)
    return ServerStatus(server.resource_name, True, "", sorted(seen, reverse=True), count)


_CAPS = "io.modelcontextprotocol/clientCapabilities"
_INFO = "io.modelcontextprotocol/clientInfo"
