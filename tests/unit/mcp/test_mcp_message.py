from __future__ import annotations

import pytest

from core.errors import InvalidRequest
from core.mcp.message import is_stateless_version, parse_message, rpc_error_json


def test_facts_of_a_tools_call_with_meta() -> None:
    facts = parse_message(
        b'{"jsonrpc":"2.0","id":"a1","method":"tools/call","params":{"name":"echo","_meta":'
        b'{"user_id":"end-1","io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}'
    )
    (request,) = facts.requests
    assert (request.id_json, request.method, request.name, request.end_user_id) == (
        b'"a1"',
        "tools/call",
        "echo",
        "end-1",
    )
    assert request.protocol_version == "2026-07-28" and facts.initialize is None and not facts.batch


def test_initialize_resource_read_batch_and_notifications() -> None:
    facts = parse_message(
        b'[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}},'
        b'{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///x"}},'
        b'{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":9,"result":{}}]'
    )
    assert facts.batch and facts.responses == 1 and facts.notifications == ("notifications/initialized",)
    assert facts.initialize is not None and facts.initialize.protocol_version == "2025-06-18"
    assert facts.requests[1].name == "file:///x" and facts.first_id_json == b"1"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{", "-32700"),
        (b"[]", "-32600"),
        (b'"x"', "-32600"),
        (b'{"jsonrpc":"1.0","id":1,"method":"x"}', "-32600"),
        (b'{"jsonrpc":"2.0","id":1}', "-32600"),
        (b'{"jsonrpc":"2.0","id":1,"method":""}', "-32600"),
        (b'{"jsonrpc":"2.0","id":[1],"method":"x"}', "-32600"),
    ],
)
def test_bodies_that_are_not_jsonrpc(body: bytes, code: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        parse_message(body)
    assert error.value.metadata["rpc_code"] == code


def test_generations_and_error_json() -> None:
    assert is_stateless_version("2026-07-28") and is_stateless_version("2027-01-01")
    assert not is_stateless_version("2025-11-25") and not is_stateless_version(None)
    assert rpc_error_json(b"3", -32603, "down") == b'{"jsonrpc":"2.0","id":3,"error":{"code":-32603,"message":"down"}}'
