"""Sessions on any replica, token binding, DELETE, listing, governance (exclusions, cross-tenant) and every
user-causable error, with the status and JSON-RPC envelope a client sees."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.integration.mcp.conftest import endpoint, handshake_session, http_client, new_token
from tests.support.gateway import ADMIN_TOKEN, Gateway
from tests.support.mcp_upstreams import RecordingApp

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
ACCEPT = {"accept": "application/json, text/event-stream"}


def _post(url: str, token: str | None, body: Any, **headers: str) -> httpx2.Response:
    hdrs = {**ACCEPT, **headers}
    if token:
        hdrs["authorization"] = f"Bearer {token}"
    if isinstance(body, bytes):
        return httpx2.post(url, content=body, headers={**hdrs, "content-type": "application/json"}, timeout=30)
    return httpx2.post(url, json=body, headers=hdrs, timeout=30)


def _initialize(url: str, token: str) -> str:
    resp = _post(url, token, INIT)
    assert resp.status_code == 200, resp.text
    session = resp.headers["mcp-session-id"]
    assert (
        _post(
            url, token, {"jsonrpc": "2.0", "method": "notifications/initialized"}, **{"mcp-session-id": session}
        ).status_code
        == 202
    )
    return session


def _call_echo(url: str, token: str, session: str, text: str = "x") -> httpx2.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"message": text}},
    }
    return _post(url, token, body, **{"mcp-session-id": session, "mcp-protocol-version": "2025-11-25"})


async def test_a_session_opened_on_one_replica_continues_on_another(
    gateway: Gateway, second_gateway: Gateway, token: str
) -> None:
    session = _initialize(endpoint(gateway, "everything"), token)
    answer = _call_echo(endpoint(second_gateway, "everything"), token, session, "across")
    assert answer.status_code == 200 and "Echo: across" in answer.text
    # The upstream's own session id never reaches the client: ours is the gateway's.
    assert len(session) == 43


def test_session_is_bound_to_token_and_server_and_delete_ends_it_everywhere(
    gateway: Gateway, second_gateway: Gateway, token: str
) -> None:
    url = endpoint(gateway, "everything")
    session = _initialize(url, token)
    other = new_token(gateway, "mcp-other-org")
    same_org = new_token(gateway)
    for who in (other, same_org):
        refused = _call_echo(url, who, session)
        assert refused.status_code == 404, refused.text
        assert refused.json()["error"]["message"].startswith("Session not found")
    on_other_server = _post(
        endpoint(gateway, "modern"),
        token,
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        **{"mcp-session-id": session},
    )
    assert on_other_server.status_code == 404
    deleted = httpx2.delete(url, headers={"authorization": f"Bearer {token}", "mcp-session-id": session})
    assert deleted.status_code == 200
    for gw in (gateway, second_gateway):
        gone = _call_echo(endpoint(gw, "everything"), token, session)
        assert gone.status_code == 404 and gone.json()["jsonrpc"] == "2.0"
    assert (
        httpx2.delete(url, headers={"authorization": f"Bearer {token}", "mcp-session-id": session}).status_code == 404
    )


def test_get_stream_needs_a_session_and_is_an_event_stream(gateway: Gateway, token: str) -> None:
    url = endpoint(gateway, "everything")
    auth = {"authorization": f"Bearer {token}", "accept": "text/event-stream"}
    assert httpx2.get(url, headers=auth).status_code == 400
    assert httpx2.get(url, headers={**auth, "mcp-session-id": "nope"}).status_code == 404
    session = _initialize(url, token)
    with httpx2.stream("GET", url, headers={**auth, "mcp-session-id": session}, timeout=30) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")


def test_listing_shows_what_the_caller_may_use(gateway: Gateway, token: str) -> None:
    for base in (gateway.v1, gateway.base_url):
        listed = httpx2.get(f"{base}/mcp-servers", headers={"authorization": f"Bearer {token}"})
        assert listed.status_code == 200
        servers = {s["name"]: s for s in listed.json()["data"]}
        assert set(servers) == {"everything", "modern", "secret-tools", "down"}
        assert servers["everything"] == {
            "name": "everything",
            "description": "The MCP reference server",
            "tags": ["reference", "test"],
            "icon_url": "https://example.com/everything.png",
        }
        assert "url" not in servers["modern"] and "headers" not in servers["modern"]
    assert httpx2.get(f"{gateway.v1}/mcp-servers").status_code == 401


def test_excluded_server_is_hidden_and_404_for_that_org_only(gateway: Gateway) -> None:
    blocked = new_token(gateway, "mcp-blocked")
    allowed = new_token(gateway, "mcp-allowed")
    gateway.cli("exclusions", "add", "--org", "mcp-blocked", "--mcp-server", "secret-tools")
    ping = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
    headers = {"mcp-protocol-version": "2026-07-28"}

    def blocked_sees() -> bool:
        names = {
            s["name"]
            for s in httpx2.get(f"{gateway.v1}/mcp-servers", headers={"authorization": f"Bearer {blocked}"}).json()[
                "data"
            ]
        }
        return "secret-tools" not in names

    from tests.support.waiting import wait_until

    wait_until(blocked_sees, what="the exclusion to apply")
    refused = _post(endpoint(gateway, "secret-tools"), blocked, ping, **headers)
    assert refused.status_code == 404
    assert (
        refused.json()["error"]["message"] == "The MCP server 'secret-tools' does not exist or is not available to you."
    )
    unknown = _post(endpoint(gateway, "no-such-server"), blocked, ping, **headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["message"].replace("no-such-server", "x") == (
        refused.json()["error"]["message"].replace("secret-tools", "x")
    )
    assert _post(endpoint(gateway, "secret-tools"), allowed, ping, **headers).status_code != 404


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("sk-not-a-real-token-000000000000", 401), ("", 401)])
def test_missing_or_bad_token_is_401(gateway: Gateway, token: str | None, status: int) -> None:
    resp = _post(endpoint(gateway, "everything"), token, INIT)
    assert resp.status_code == status and resp.json()["error"]["code"] < 0


def test_bootstrap_admin_cannot_call_mcp(gateway: Gateway) -> None:
    assert _post(endpoint(gateway, "everything"), ADMIN_TOKEN, INIT).status_code == 403


def test_malformed_bodies_and_missing_session_are_400(gateway: Gateway, token: str) -> None:
    url = endpoint(gateway, "everything")
    parse = _post(url, token, b"{not json")
    assert parse.status_code == 400 and parse.json()["error"]["code"] == -32700
    for body in (
        {"id": 1, "method": "x"},
        [],
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "id": True, "method": "x"},
    ):
        bad = _post(url, token, body)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == -32600, body
    missing = _post(url, token, {"jsonrpc": "2.0", "id": 5, "method": "tools/list"})
    assert missing.status_code == 400
    assert missing.json()["id"] == 5 and "Mcp-Session-Id" in missing.json()["error"]["message"]


def test_body_over_the_limit_is_413(gateway: Gateway, token: str) -> None:
    huge = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"a" * (33 * 1024 * 1024) + b'"}}'
    assert _post(endpoint(gateway, "everything"), token, huge).status_code == 413


def test_unreachable_upstream_is_502_with_a_jsonrpc_error(gateway: Gateway, token: str) -> None:
    resp = _post(endpoint(gateway, "down"), token, INIT)
    assert resp.status_code == 502
    body = resp.json()
    assert body["id"] == 1 and body["error"]["code"] == -32603
    assert "'down' could not be reached" in body["error"]["message"]


def test_foreign_origin_is_403(gateway: Gateway, token: str) -> None:
    url = endpoint(gateway, "everything")
    assert _post(url, token, INIT, origin="http://evil.example").status_code == 403
    host = gateway.base_url.removeprefix("http://")
    assert _post(url, token, INIT, origin=f"http://{host}").status_code == 200


async def test_sdk_session_survives_on_a_second_replica(gateway: Gateway, second_gateway: Gateway, token: str) -> None:
    async with handshake_session(endpoint(second_gateway, "everything"), token) as session:
        assert (await session.call_tool("echo", {"message": "r2"})).content[0].text == "Echo: r2"
    async with http_client(token) as client:
        assert (await client.get(f"{gateway.v1}/mcp-servers")).status_code == 200


def test_last_event_id_is_passed_to_the_upstream_on_resumption(
    gateway: Gateway, modern: tuple[str, RecordingApp], token: str
) -> None:
    url = endpoint(gateway, "modern")
    session = _initialize(url, token)
    recorder = modern[1]
    before = len(recorder.headers)
    headers = {
        "authorization": f"Bearer {token}",
        "accept": "text/event-stream",
        "mcp-session-id": session,
        "last-event-id": "stream-1_42",
    }
    with httpx2.stream("GET", url, headers=headers, timeout=30) as answer:
        status = answer.status_code
    gets = [h for h in recorder.headers[before:] if h.get("last-event-id")]
    assert gets and gets[0]["last-event-id"] == "stream-1_42"
    assert "authorization" not in gets[0] and "mcp-session-id" not in gets[0]  # a stateless upstream has none
    # Whatever the upstream answers (this SDK server in stateless mode fails a GET), the client gets as is.
    direct = httpx2.get(modern[0], headers={"accept": "text/event-stream", "last-event-id": "stream-1_42"}, timeout=30)
    assert status == direct.status_code
