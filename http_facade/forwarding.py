"""The wire contract at the façade's edge, both ways: the per-request facts forwarded to core as gRPC metadata,
and core's response metadata passed back to the client as HTTP headers (keys from aqueduct_contract)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import grpc
from starlette.requests import Request

from aqueduct_contract import (
    AUTHORIZATION,
    CLIENT_ADDR,
    ENDPOINT,
    FACADE_CREDENTIAL,
    REQUEST_ID,
    USER_AGENT,
    is_response_header,
)

Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Forwarded:
    """The request id (echoed to the client as x-request-id) and the metadata for the core call."""

    request_id: str
    metadata: Metadata


def _usable(value: str) -> bool:
    # gRPC metadata values must be printable ASCII; anything else would fail the call itself.
    return value.isascii() and value.isprintable()


def _request_id(given: str | None, max_length: int) -> str:
    if given and len(given) <= max_length and _usable(given):
        return given
    # 128 random bits as 32 hex digits, like uuid4().hex at a third of its cost.
    return secrets.token_hex(16)


def request_id_of(request: Request, max_length: int) -> str:
    return _request_id(request.headers.get(REQUEST_ID), max_length)


_REQUEST_ID = REQUEST_ID.encode()
_AUTHORIZATION = AUTHORIZATION.encode()
_USER_AGENT = b"user-agent"
# The key headers of the Azure OpenAI SDK ("api-key") and the Anthropic SDK ("x-api-key"): the same tokens,
# forwarded to core as a bearer authorization when the request has no Authorization header of its own.
_API_KEY_HEADERS = (b"api-key", b"x-api-key")


def forwarded(request: Request, endpoint: str, max_request_id_length: int, credential: str | None = None) -> Forwarded:
    """`endpoint` is always the /v1 form ("POST /v1/chat/completions"), whichever path the client used.
    `credential` is the façade's own (settings.facade_credential): without it core ignores the client facts.
    The client address is the connection's peer, or X-Forwarded-For's as uvicorn resolved it, which it does only
    for the proxies listed in forwarded_allow_ips."""
    given = authorization = user_agent = api_key = None
    # One pass over the raw ASGI headers (names are lower case): Starlette's Headers scans them once per lookup,
    # and a missing one costs a KeyError, together more than the rest of this function.
    for name, value in request.scope["headers"]:
        if name == _AUTHORIZATION and authorization is None:
            authorization = value.decode("latin-1")
        elif name == _USER_AGENT and user_agent is None:
            user_agent = value.decode("latin-1")
        elif name == _REQUEST_ID and given is None:
            given = value.decode("latin-1")
        elif name in _API_KEY_HEADERS and api_key is None:
            api_key = value.decode("latin-1").strip()
    if authorization is None and api_key:
        authorization = "Bearer " + api_key
    request_id = _request_id(given, max_request_id_length)
    metadata: list[tuple[str, str]] = [(REQUEST_ID, request_id), (ENDPOINT, endpoint)]
    if authorization and _usable(authorization):
        metadata.append((AUTHORIZATION, authorization))
    if user_agent and _usable(user_agent):
        metadata.append((USER_AGENT, user_agent))
    client = request.scope.get("client")
    if client:
        metadata.append((CLIENT_ADDR, client[0]))
    if credential:
        metadata.append((FACADE_CREDENTIAL, credential))
    return Forwarded(request_id, tuple(metadata))


async def response_headers(call: grpc.aio.Call, request_id: str) -> dict[str, str]:
    """The headers of a successful answer: the request id and core's response metadata (the rate-limit headers,
    the model group and deployment that answered), which core sends as initial metadata for every call."""
    headers = {REQUEST_ID: request_id}
    metadata: Any = await call.initial_metadata()
    for key, value in metadata or ():
        if is_response_header(key) and isinstance(value, str):
            headers[key] = value
    return headers
