"""Per-RPC request facts: forwarded by the façade as gRPC metadata, or derived by core for direct callers.

The client address, user agent and endpoint metadata are the façade's word about its HTTP client; core takes
them only from a caller that proved to be the façade (core.interceptors.auth checks its credential and marks the
call here). Anyone else is recorded as what core itself sees: the gRPC peer's address and its user agent."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass

from aqueduct_contract import CLIENT_ADDR, ENDPOINT, REQUEST_ID, USER_AGENT

# Set by the auth interceptor inside each call's task: True when the caller presented the façade's credential.
_FROM_FACADE: ContextVar[bool] = ContextVar("aqueduct_from_facade", default=False)


def mark_from_facade(value: bool) -> None:
    _FROM_FACADE.set(value)


def peer_host(peer: str | None) -> str | None:
    """The address part of a gRPC peer string: "ipv4:10.0.0.1:5000" -> "10.0.0.1", "ipv6:[::1]:5000" -> "::1";
    other forms (unix sockets, the in-process channel) as they are."""
    if not peer:
        return None
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0] or rest
    if kind == "ipv6":
        host = rest.rpartition(":")[0] if rest.startswith("[") else rest
        return host.strip("[]") or rest
    return peer


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def client_address(
    metadata: Iterable[tuple[str, str | bytes]] | None, peer: str | None, from_facade: bool
) -> str | None:
    """Who the caller is, for throttling and records: the façade's forwarded client address when the call
    comes from the façade, else the gRPC peer's address."""
    if from_facade:
        for key, value in metadata or ():
            if key == CLIENT_ADDR:
                return _text(value)
    return peer_host(peer)


@dataclass(frozen=True, slots=True)
class RequestContext:
    request_id: str
    endpoint_method: str
    endpoint_path: str
    user_agent: str | None
    client_addr: str | None

    @classmethod
    def from_metadata(
        cls, metadata: Iterable[tuple[str, str | bytes]] | None, rpc_method: str, peer: str | None
    ) -> RequestContext:
        md: dict[str, str] = {}
        for key, value in metadata or ():
            md[key] = _text(value)
        if _FROM_FACADE.get():
            method, _, path = md.get(ENDPOINT, "").partition(" ")
            user_agent = md.get(USER_AGENT)
            client_addr = md.get(CLIENT_ADDR) or peer_host(peer)
        else:
            method = path = ""
            user_agent = md.get("user-agent")
            client_addr = peer_host(peer)
        if not path:
            method, path = "GRPC", rpc_method
        return cls(
            request_id=md.get(REQUEST_ID) or uuid.uuid4().hex,
            endpoint_method=method,
            endpoint_path=path,
            user_agent=user_agent,
            client_addr=client_addr,
        )
