"""Per-RPC request facts that the façade forwards as gRPC metadata (or that core derives for direct callers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from aqueduct_contract import CLIENT_ADDR, ENDPOINT, REQUEST_ID, USER_AGENT


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
            md[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        method, _, path = md.get(ENDPOINT, "").partition(" ")
        if not path:
            method, path = "GRPC", rpc_method
        return cls(
            request_id=md.get(REQUEST_ID) or uuid.uuid4().hex,
            endpoint_method=method,
            endpoint_path=path,
            user_agent=md.get(USER_AGENT) or md.get("user-agent"),
            client_addr=md.get(CLIENT_ADDR) or peer,
        )
