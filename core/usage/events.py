"""The usage event that inference code hands to the recorder; one per authenticated request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(slots=True)
class UsageEvent:
    request_id: str
    created_at: datetime  # UTC, when the request arrived
    token_id: str | None
    user_id: str | None  # Aqueduct user (owner of the token / of the service account)
    org_id: str | None
    team_id: str | None
    service_account_id: str | None
    end_user_id: str | None  # the request's `user_id` field
    model: str | None  # model group as resolved (canonical name, not the alias)
    deployment: str | None  # upstream model id of the deployment that served it
    endpoint_method: str
    endpoint_path: str
    status: int  # HTTP-equivalent status: 200, 4xx, 5xx, 499 for a client disconnect
    input_tokens: int
    output_tokens: int
    tokens_estimated: bool
    latency_ms: float
    ttft_ms: float | None  # streams only
    user_agent: str | None
    client_addr: str | None
    error_message: str | None = None
    # MCP proxy requests only (core.mcp): server, JSON-RPC method, tool / prompt name or resource URI, the
    # answer's JSON-RPC error code (None: a result), request and answer bytes.
    mcp_server: str | None = None
    mcp_method: str | None = None
    mcp_name: str | None = None
    rpc_error_code: int | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    # Media requests only (None elsewhere): characters of a speech input, images generated, seconds of audio
    # transcribed as the upstream reported them.
    characters: int | None = None
    images: int | None = None
    audio_seconds: float | None = None


class UsageSink(Protocol):
    """Where inference code records usage. Must not block: implementations queue and write in batches."""

    def begin(self, event: UsageEvent) -> int | None:
        """The request is going upstream (`event` as known so far); the key, if any, goes to `record`."""
        ...

    def record(self, event: UsageEvent, begun: int | None = None) -> None: ...
