"""The few routing facts the gateway reads from a JSON-RPC message; the message itself is never re-modelled
and travels on as the client's bytes.

Facts: whether the body is requests, notifications or responses (a response or notification alone is
answered 202 by the upstream), the first request's id, method, the tool / prompt name or resource URI it
names, the protocol version (initialize's `protocolVersion`, or a 2026-07-28 request's `_meta`), and the
end-user id a client may put in `_meta.user_id` for usage attribution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from core.errors import InvalidRequest

PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
# Methods whose params name a tool, prompt or resource; the 2026-07-28 `Mcp-Name` header mirrors the same field.
NAME_PARAMS = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri", "resources/subscribe": "uri"}
INITIALIZE = "initialize"
# JSON-RPC 2.0 error codes the gateway answers with itself.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INTERNAL_ERROR = -32603
# Handshake-era protocol versions sort before this one; 2026-07-28 and later are the stateless generation.
FIRST_STATELESS_VERSION = "2026-07-28"
_MAX_FACT_CHARS = 255


@dataclass(frozen=True, slots=True)
class RpcRequest:
    """One JSON-RPC request of a message: its id (as JSON text, so it can be echoed exactly), method, name."""

    id_json: bytes
    method: str
    name: str | None
    end_user_id: str | None
    protocol_version: str | None


@dataclass(frozen=True, slots=True)
class MessageFacts:
    requests: tuple[RpcRequest, ...]
    notifications: tuple[str, ...]  # their methods
    responses: int  # answers to server-initiated requests
    batch: bool

    @property
    def initialize(self) -> RpcRequest | None:
        for request in self.requests:
            if request.method == INITIALIZE:
                return request
        return None

    @property
    def first_id_json(self) -> bytes:
        return self.requests[0].id_json if self.requests else b"null"


def is_stateless_version(version: str | None) -> bool:
    """True for the 2026-07-28 generation and later (versions are dates, so they sort as text)."""
    return bool(version) and str(version) >= FIRST_STATELESS_VERSION


def _text(value: Any) -> str | None:
    return value[:_MAX_FACT_CHARS] if isinstance(value, str) and value else None


def _request(obj: dict[str, Any]) -> RpcRequest:
    method = obj["method"]
    params = obj.get("params")
    params = params if isinstance(params, dict) else {}
    meta = params.get("_meta")
    meta = meta if isinstance(meta, dict) else {}
    name_key = NAME_PARAMS.get(method)
    version = _text(meta.get(PROTOCOL_VERSION_META_KEY))
    if method == INITIALIZE:
        version = _text(params.get("protocolVersion")) or version
    return RpcRequest(
        id_json=orjson.dumps(obj["id"]),
        method=method[:_MAX_FACT_CHARS],
        name=_text(params.get(name_key)) if name_key else None,
        end_user_id=_text(meta.get("user_id")),
        protocol_version=version,
    )


def parse_message(body: bytes) -> MessageFacts:
    """InvalidRequest (metadata rpc_code: the JSON-RPC code) for a body that is not JSON-RPC."""
    try:
        loaded = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequest(
            "The body is not valid JSON.", field="body", metadata={"rpc_code": str(PARSE_ERROR)}
        ) from None
    batch = isinstance(loaded, list)
    items = loaded if batch else [loaded]
    if not items:
        raise _not_jsonrpc("an empty batch")
    requests: list[RpcRequest] = []
    notifications: list[str] = []
    responses = 0
    for item in items:
        if not isinstance(item, dict) or item.get("jsonrpc") != "2.0":
            raise _not_jsonrpc("not a JSON-RPC 2.0 message")
        method = item.get("method")
        if method is None:
            if "result" not in item and "error" not in item:
                raise _not_jsonrpc("neither a request, a notification nor a response")
            responses += 1
        elif not isinstance(method, str) or not method:
            raise _not_jsonrpc("`method` must be a non-empty string")
        elif "id" in item:
            if not isinstance(item["id"], str | int) or isinstance(item["id"], bool):
                raise _not_jsonrpc("a request `id` must be a string or an integer")
            requests.append(_request(item))
        else:
            notifications.append(method[:_MAX_FACT_CHARS])
    return MessageFacts(tuple(requests), tuple(notifications), responses, batch)


def _not_jsonrpc(why: str) -> InvalidRequest:
    return InvalidRequest(
        f"The body is not a JSON-RPC message: {why}.", field="body", metadata={"rpc_code": str(INVALID_REQUEST)}
    )


def rpc_error_json(id_json: bytes, code: int, message: str) -> bytes:
    """A JSON-RPC error answer for the request whose id is `id_json`."""
    error = orjson.dumps({"code": code, "message": message})
    return b'{"jsonrpc":"2.0","id":' + id_json + b',"error":' + error + b"}"
