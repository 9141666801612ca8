"""A gateway with tight MCP settings: Host allow-list (421), a per-server rpm cap (429 with the usual headers),
and a short session idle timeout (an unused session expires: 404)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.integration.mcp.conftest import endpoint, mcp_config, new_token
from tests.support.gateway import Gateway
from tests.support.mcp_upstreams import RecordingApp
from tests.support.waiting import wait_until

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


@pytest.fixture(scope="module")
def strict(
    everything: str, modern: tuple[str, RecordingApp], gateway_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    config = mcp_config(everything, modern[0], gateway_db, mcp_session_idle_timeout_seconds=1)
    config["mcp_servers"]["modern"]["rpm"] = 2
    workdir: Path = tmp_path_factory.mktemp("mcp-strict")
    gw = Gateway(config, workdir, env={"MCP_ALLOWED_HOSTS": "127.0.0.1:*"})
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


def _post(url: str, token: str, body: object, **headers: str) -> httpx2.Response:
    hdrs = {"authorization": f"Bearer {token}", "accept": "application/json, text/event-stream", **headers}
    return httpx2.post(url, json=body, headers=hdrs, timeout=30)


def test_host_not_allowed_is_421(strict: Gateway) -> None:
    token = new_token(strict)
    assert _post(endpoint(strict, "everything"), token, INIT, host="evil.example").status_code == 421
    assert _post(endpoint(strict, "everything"), token, INIT).status_code == 200


def test_server_rpm_caps_all_callers(strict: Gateway) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    statuses = [
        _post(endpoint(strict, "modern"), new_token(strict), ping, **{"mcp-protocol-version": "2026-07-28"})
        for _ in range(3)
    ]
    assert [r.status_code != 429 for r in statuses[:2]] == [True, True]
    assert statuses[2].status_code == 429 and "retry-after" in statuses[2].headers


def test_an_idle_session_expires(strict: Gateway) -> None:
    token = new_token(strict)
    url = endpoint(strict, "everything")
    session = _post(url, token, INIT).headers["mcp-session-id"]
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}

    def open_sessions() -> int:
        # `aqueduct mcp status` counts live sessions without touching them (a request would keep one alive).
        out = strict.cli("mcp", "status", "everything", "--json").stdout
        return int(json.loads(out)[0]["open_sessions"])

    assert _post(url, token, ping, **{"mcp-session-id": session}).status_code == 200  # alive while used
    wait_until(lambda: open_sessions() == 0, within=15, interval=0.2, what="the idle session to expire")
    expired = _post(url, token, ping, **{"mcp-session-id": session})
    assert expired.status_code == 404 and "Session not found" in expired.json()["error"]["message"]
