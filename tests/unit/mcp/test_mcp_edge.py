from __future__ import annotations

import json

import pytest
from starlette.requests import Request

from http_facade.errors import OpenAIError
from http_facade.mcp_edge import check_host_and_origin, mcp_error_response


def _request(host: str, origin: str | None = None) -> Request:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("host", "origin", "hosts", "origins", "status"),
    [
        ("gw:8000", None, (), (), None),
        ("evil.example", None, ("gw:8000",), (), 421),
        ("gw:8000", None, ("gw:*",), (), None),
        ("localhost", None, ("localhost:*",), (), None),
        ("gw:8000", "http://gw:8000", (), (), None),
        ("gw:8000", "http://evil.example", (), (), 403),
        ("gw:8000", "https://app.example.com", (), ("https://app.example.com",), None),
        ("gw:8000", "https://other.example.com", (), ("https://app.example.com",), 403),
        ("gw:8000", "null", (), ("*",), None),
    ],
)
def test_dns_rebinding_protection(
    host: str, origin: str | None, hosts: tuple[str, ...], origins: tuple[str, ...], status: int | None
) -> None:
    error = check_host_and_origin(_request(host, origin), hosts, origins)
    assert (error.status if error else None) == status


def test_errors_are_jsonrpc_envelopes() -> None:
    response = mcp_error_response(OpenAIError(404, "gone", "not_found_error"), "rid")
    body = json.loads(bytes(response.body))
    assert response.status_code == 404 and response.headers["x-request-id"] == "rid"
    assert body == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "gone", "data": {"type": "not_found_error", "code": None}},
    }
    assert (
        json.loads(bytes(mcp_error_response(OpenAIError(502, "x", "server_error"), None).body))["error"]["code"]
        == -32603
    )
