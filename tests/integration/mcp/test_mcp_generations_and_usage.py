"""The 2026-07-28 generation (the SDK's `Client`, stateless per-request envelope) against the Python SDK's
server, the generation combinations the SDK produces, the upstream credentials, and the usage records."""

from __future__ import annotations

import json
import time
import uuid

import psycopg
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.integration.mcp.conftest import UPSTREAM_SECRET, endpoint, http_client, new_token
from tests.support.gateway import Gateway
from tests.support.mcp_upstreams import RecordingApp
from tests.support.waiting import wait_until


async def test_modern_client_calls_a_modern_server_statelessly(
    gateway: Gateway, modern: tuple[str, RecordingApp], token: str
) -> None:
    recorder = modern[1]
    before = len(recorder.headers)
    async with (
        http_client(token) as http,
        Client(streamable_http_client(endpoint(gateway, "modern"), http_client=http), mode="2026-07-28") as client,
    ):
        assert "echo" in {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("echo", {"message": "modern"})
        assert result.content[0].text == "Echo: modern"
    seen = recorder.headers[before:]
    assert seen, "the upstream saw no request"
    for headers in seen:
        # The upstream gets its configured credential, never the client's token nor a gateway session.
        assert headers.get("x-upstream-key") == UPSTREAM_SECRET
        assert "authorization" not in headers and token not in json.dumps(headers)
        assert "mcp-session-id" not in headers
    calls = [h for h in seen if h.get("mcp-method") == "tools/call"]
    assert calls and calls[0]["mcp-name"] == "echo" and calls[0]["mcp-protocol-version"] == "2026-07-28"


async def test_modern_progress_arrives_before_the_result(gateway: Gateway, token: str) -> None:
    arrivals: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        arrivals.append(time.monotonic())

    async with (
        http_client(token) as http,
        Client(streamable_http_client(endpoint(gateway, "modern"), http_client=http), mode="2026-07-28") as client,
    ):
        result = await client.call_tool("count_slowly", {"steps": 4}, progress_callback=on_progress)
        done = time.monotonic()
    assert result.content[0].text == "counted 4"
    assert len(arrivals) == 4 and done - arrivals[0] > 0.1


async def test_auto_client_falls_back_to_a_session_with_a_handshake_server(gateway: Gateway, token: str) -> None:
    async with (
        http_client(token) as http,
        Client(streamable_http_client(endpoint(gateway, "everything"), http_client=http)) as client,
    ):
        assert (await client.call_tool("echo", {"message": "auto"})).content[0].text == "Echo: auto"


async def test_auto_client_speaks_modern_with_a_modern_server(gateway: Gateway, token: str) -> None:
    async with (
        http_client(token) as http,
        Client(streamable_http_client(endpoint(gateway, "modern"), http_client=http)) as client,
    ):
        assert (await client.call_tool("echo", {"message": "auto"})).content[0].text == "Echo: auto"


async def test_usage_rows_match_the_calls(gateway: Gateway, token: str) -> None:
    user_id = f"end-{uuid.uuid4().hex[:8]}"
    async with (
        http_client(token) as http,
        Client(streamable_http_client(endpoint(gateway, "modern"), http_client=http), mode="2026-07-28") as client,
    ):
        await client.call_tool("echo", {"message": "a"}, meta={"user_id": user_id})
        await client.call_tool("echo", {"message": "b"}, meta={"user_id": user_id})
        await client.call_tool("no_such_tool", {}, meta={"user_id": user_id})

    def rows() -> list[tuple[object, ...]]:
        with psycopg.connect(gateway.config_db) as conn:  # type: ignore[attr-defined]
            return conn.execute(
                "SELECT mcp_server, mcp_method, mcp_name, status, rpc_error_code, bytes_in, bytes_out, endpoint_path,"
                " token_id FROM usage_records WHERE end_user_id = %s ORDER BY created_at",
                (user_id,),
            ).fetchall()

    found = wait_until(lambda: len(rows()) == 3 and rows(), what="three usage rows")
    assert [r[:3] for r in found] == [("modern", "tools/call", "echo")] * 2 + [("modern", "tools/call", "no_such_tool")]
    assert all(r[3] == 200 and r[5] > 0 and r[6] > 0 for r in found)
    assert found[0][7] == "/v1/mcp-servers/modern/mcp"
    report = gateway.cli("usage", "--group-by", "tool", "--json", "--since", "1h")
    assert "echo" in report.stdout


def test_cli_mcp_list_and_status(gateway: Gateway) -> None:
    token = new_token(gateway)
    listed = gateway.cli("mcp", "list", "--json", token=token)
    assert {s["name"] for s in json.loads(listed.stdout)} >= {"everything", "modern"}
    status = json.loads(gateway.cli("mcp", "status", "everything", "modern", "down", "--json").stdout)
    by_name = {s["name"]: s for s in status}
    assert by_name["everything"]["reachable"] is True and "2025-11-25" in by_name["everything"]["protocol_versions"]
    assert by_name["modern"]["reachable"] is True and "2026-07-28" in by_name["modern"]["protocol_versions"]
    assert by_name["down"]["reachable"] is False and by_name["down"]["error"]
    refused = gateway.cli("mcp", "status", "everything", token=token, check=False)
    assert refused.returncode != 0
