"""The MCP proxy: one message in, the upstream's answer out as it arrives, under the gateway's governance.

Generations (documented in README "MCP proxy"): a handshake-era client (2025-03-26 ... 2025-11-25) gets a
gateway session on `initialize`, kept in the database (core.mcp.sessions) so any replica continues it; the
upstream's session id stays on the gateway. A 2026-07-28 client's self-contained requests (no session id,
`MCP-Protocol-Version` of 2026-07-28 or later, or that version in `_meta`) are forwarded one by one. Messages
are forwarded as they are, never translated between generations: an upstream that does not speak the
client's generation answers with its own error (a handshake-only server refuses a 2026-07-28 request, and
the SDKs then fall back to `initialize`, which opens a session as usual)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp

from core.auth.principal import Principal
from core.errors import AqueductError, InvalidRequest
from core.governance.access.exclusions import ExclusionPolicy
from core.governance.authorization import require_mcp_caller, require_operator
from core.governance.limits.admission import Admission
from core.inference.caller import Caller
from core.mcp.message import INTERNAL_ERROR, is_stateless_version, parse_message, rpc_error_json
from core.mcp.metering import McpMeter
from core.mcp.registry import McpRegistry, McpServerEntry, server_id, server_not_found
from core.mcp.sessions import McpSession, SessionStore, session_not_found
from core.mcp.upstream import McpUpstream, UpstreamAnswer, body_chunks, passes, sse_events, unreachable
from core.usage.events import UsageSink

log = logging.getLogger("aqueduct.core.mcp")

DEFAULT_ACCEPT = "application/json, text/event-stream"


@dataclass(frozen=True, slots=True)
class HttpFacts:
    """The MCP transport headers of the client's request (never its credentials)."""

    session_id: str = ""
    protocol_version: str = ""
    accept: str = ""
    content_type: str = ""
    last_event_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Head:
    status: int
    content_type: str = ""
    session_id: str = ""
    protocol_version: str = ""


EmitHead = Callable[[Head], Awaitable[None]]
EmitData = Callable[[bytes], Awaitable[None]]
# Called once admission passed, with the rate-limit headers to send before the answer.
OnAdmitted = Callable[[dict[str, str]], Awaitable[None]]


def missing_session() -> InvalidRequest:
    return InvalidRequest(
        "Mcp-Session-Id header is required: send `initialize` first to open a session.", field="Mcp-Session-Id"
    )


class McpProxy:
    def __init__(
        self,
        registry: McpRegistry,
        sessions: SessionStore,
        upstream: McpUpstream,
        usage: UsageSink,
        *,
        exclusions: ExclusionPolicy | None = None,
        admission: Admission | None = None,
    ) -> None:
        self.registry = registry
        self.sessions = sessions
        self.upstream = upstream
        self._usage = usage
        self._exclusions = exclusions
        self._admission = admission

    def visible(self, principal: Principal) -> list[McpServerEntry]:
        excluded = self._exclusions.excluded_mcp_servers(principal) if self._exclusions else frozenset()
        return [server for server in self.registry if server.name not in excluded]

    def server(self, principal: Principal, resource_name: str, field: str = "mcp_server") -> McpServerEntry:
        """The server, or NotFound when unknown or excluded for the caller (the same answer)."""
        name = server_id(resource_name, field)
        server = self.registry.get(name)
        if server is None or (
            self._exclusions is not None and self._exclusions.is_mcp_server_excluded(principal, name)
        ):
            raise server_not_found(name)
        return server

    def operator_server(self, principal: Principal, resource_name: str) -> McpServerEntry:
        require_operator(principal)
        server = self.registry.get(server_id(resource_name, "name"))
        if server is None:
            raise server_not_found(resource_name)
        return server

    @asynccontextmanager
    async def _admitted(self, principal: Principal, server: McpServerEntry) -> AsyncIterator[dict[str, str]]:
        """Counts the message against the caller's request limits and the server's own rpm (429 when over);
        yields the x-ratelimit-* headers."""
        if self._admission is None:
            yield {}
            return
        reservation = await self._admission.admit(principal, server.limit_key, 0, 0)
        try:
            yield reservation.headers
        finally:
            reservation.settle(0, 0)

    def _upstream_headers(self, http: HttpFacts, session: McpSession | None, *, accept: str) -> dict[str, str]:
        headers = {name: value for name, value in http.headers.items() if passes(name)}
        headers["accept"] = http.accept or accept
        version = http.protocol_version or (session.protocol_version if session else "") or ""
        if version:
            headers["mcp-protocol-version"] = version
        if session is not None and session.upstream_session_id:
            headers["mcp-session-id"] = session.upstream_session_id
        if http.last_event_id:
            headers["last-event-id"] = http.last_event_id
        return headers

    async def send(
        self,
        caller: Caller,
        resource_name: str,
        http: HttpFacts,
        body: bytes,
        emit_head: EmitHead,
        emit_data: EmitData,
        on_admitted: OnAdmitted,
    ) -> None:
        """POST: forwards the message and streams the answer back (see the module docstring)."""
        principal = caller.principal
        require_mcp_caller(principal)
        server = self.server(principal, resource_name)
        facts = parse_message(body)
        init = facts.initialize
        session: McpSession | None = None
        version = http.protocol_version or (facts.requests[0].protocol_version if facts.requests else None)
        meter = McpMeter(self._usage, caller, server.name, facts, len(body))
        status = 0
        try:
            if init is None:
                if http.session_id:
                    session = await self.sessions.get(http.session_id, server.name, _token(principal))
                elif not is_stateless_version(version):
                    raise missing_session()
            async with self._admitted(principal, server) as limit_headers:
                await on_admitted(limit_headers)
                headers = self._upstream_headers(http, session, accept="application/json, text/event-stream")
                headers["content-type"] = "application/json"
                async with self.upstream.call(server, "POST", headers, body) as answer:
                    session_id = ""
                    if init is not None and 200 <= answer.status < 300:
                        session_id = await self.sessions.create(
                            server.name, _token(principal), answer.session_id, init.protocol_version
                        )
                    await emit_head(Head(answer.status, answer.content_type, session_id, answer.protocol_version or ""))
                    await self._relay(server, answer, meter, emit_data)
                    status = answer.status
        except BaseException as exc:
            meter.finish(0, exc)
            if isinstance(exc, AqueductError) and facts.requests:
                exc.metadata.setdefault("rpc_id", facts.first_id_json.decode())
            raise
        meter.finish(status)

    async def _relay(self, server: McpServerEntry, answer: UpstreamAnswer, meter: McpMeter, emit: EmitData) -> None:
        """The body as it arrives. A stream the upstream breaks off (or falls silent on) before answering
        every request ends with a JSON-RPC error event per unanswered request, so the client is not left
        waiting; a broken JSON body is a 502."""
        try:
            if answer.is_stream:
                async for event in sse_events(answer.response):
                    meter.observe_event(event)
                    await emit(event)
                return
            parts: list[bytes] = []
            async for chunk in body_chunks(answer.response):
                meter.bytes_out += len(chunk)
                parts.append(chunk)
                await emit(chunk)
            meter.observe_json(b"".join(parts))
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("MCP server %s broke off its answer: %r", server.name, exc)
            failure = unreachable(server.name, exc)
            if not answer.is_stream:
                raise failure from None
            for id_json in meter.pending:
                event = b"event: message\ndata: " + rpc_error_json(id_json, INTERNAL_ERROR, failure.message) + b"\n\n"
                meter.observe_event(event)
                await emit(event)

    async def open_stream(
        self, caller: Caller, resource_name: str, http: HttpFacts, emit_head: EmitHead, emit_data: EmitData
    ) -> None:
        """GET: the session's server-initiated stream, passed through (resumed after Last-Event-ID when given).
        The stream may stay silent for long: no between-events timeout applies."""
        principal = caller.principal
        require_mcp_caller(principal)
        server = self.server(principal, resource_name)
        if not http.session_id:
            raise missing_session()
        session = await self.sessions.get(http.session_id, server.name, _token(principal))
        headers = self._upstream_headers(http, session, accept="text/event-stream")
        async with self.upstream.call(server, "GET", headers, stream=True) as answer:
            await emit_head(Head(answer.status, answer.content_type, "", answer.protocol_version or ""))
            stream = sse_events(answer.response) if answer.is_stream else body_chunks(answer.response)
            try:
                async for piece in stream:
                    await emit_data(piece)
            except (OSError, TimeoutError) as exc:
                log.info("MCP server %s closed its event stream: %r", server.name, exc)

    async def delete_session(self, caller: Caller, resource_name: str, http: HttpFacts) -> Head:
        """DELETE: the gateway's session ends at once on every replica; the upstream's is ended too where it
        has one (its refusal or absence does not keep ours alive)."""
        principal = caller.principal
        require_mcp_caller(principal)
        server = self.server(principal, resource_name)
        if not http.session_id:
            raise missing_session()
        session = await self.sessions.get(http.session_id, server.name, _token(principal))
        await self.sessions.delete(session)
        if session.upstream_session_id:
            headers = self._upstream_headers(http, session, accept="application/json, text/event-stream")
            try:
                async with self.upstream.call(server, "DELETE", headers) as answer:
                    log.debug("MCP server %s answered DELETE with %d", server.name, answer.status)
            except AqueductError as exc:
                log.info("MCP server %s: ending the upstream session failed: %s", server.name, exc.message)
        return Head(200)


def _token(principal: Principal) -> str:
    if principal.token_id is None:  # require_mcp_caller refused it already
        raise session_not_found()
    return principal.token_id
