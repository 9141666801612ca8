"""The MCP routes' edge: DNS-rebinding protection (Host and Origin against the configured allow-lists: 421 and
403), and errors in the JSON-RPC envelope an MCP client reads, with the HTTP status of the one table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from aqueduct_openai import dumps

from .errors import OpenAIError, parse_details

# JSON-RPC codes for errors the gateway answers with itself (JSON-RPC 2.0 reserves -32768..-32000).
INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603


def _matches(value: str, allowed: Sequence[str]) -> bool:
    value = value.lower()
    for entry in allowed:
        entry = entry.strip().lower()
        if entry == "*" or entry == value:
            return True
        if entry.endswith(":*") and value.rsplit(":", 1)[0] == entry[:-2]:
            return True
        if entry.endswith(":*") and value == entry[:-2]:  # no port given
            return True
    return False


def _origin_host(origin: str) -> str | None:
    parts = urlsplit(origin)
    return parts.netloc.lower() if parts.scheme and parts.netloc else None


def check_host_and_origin(
    request: Request, allowed_hosts: Sequence[str], allowed_origins: Sequence[str]
) -> OpenAIError | None:
    """None when the request may proceed. No hosts configured: any Host. No origins configured: no Origin,
    or one naming the request's own Host."""
    host = request.headers.get("host", "")
    if allowed_hosts and not _matches(host, allowed_hosts):
        return OpenAIError(421, f"Host {host!r} is not allowed for MCP requests.", "invalid_request_error")
    origin = request.headers.get("origin")
    if origin is None:
        return None
    allowed = _matches(origin, allowed_origins) if allowed_origins else _origin_host(origin) == host.lower()
    if not allowed:
        return OpenAIError(403, f"Origin {origin!r} is not allowed for MCP requests.", "permission_denied_error")
    return None


def jsonrpc_error_body(error: OpenAIError, rpc_id: Any = None, rpc_code: int | None = None) -> dict[str, Any]:
    code = rpc_code if rpc_code is not None else (INTERNAL_ERROR if error.status >= 500 else INVALID_REQUEST)
    return {
        "jsonrpc": "2.0",
        "id": rpc_id,
        "error": {"code": code, "message": error.message, "data": {"type": error.type, "code": error.code}},
    }


def mcp_error_response(
    error: OpenAIError,
    request_id: str | None,
    trailing_metadata: Any = None,
) -> Response:
    """`error` (from the one table) as a JSON-RPC error; core's ErrorInfo may name the request id (`rpc_id`,
    JSON text) and the JSON-RPC code (`rpc_code`) to answer with."""
    details = parse_details(trailing_metadata)
    rpc_id: Any = None
    raw_id = details.metadata.get("rpc_id")
    if raw_id:
        try:
            rpc_id = json.loads(raw_id)
        except ValueError:
            rpc_id = None
    raw_code = details.metadata.get("rpc_code")
    rpc_code = int(raw_code) if raw_code and raw_code.lstrip("-").isdigit() else None
    headers = dict(error.headers)
    if request_id:
        headers["x-request-id"] = request_id
    body = dumps(jsonrpc_error_body(error, rpc_id, rpc_code))
    return Response(body, status_code=error.status, headers=headers, media_type="application/json")
