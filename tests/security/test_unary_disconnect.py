"""Issue 16 item 10: a client that goes away cancels the upstream call for unary requests too, over both façade ->
core transports: the slow loopback upstream sees its connection closed early, and the usage row says 499."""

from __future__ import annotations

import json
import select
import sqlite3
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import openai
import pytest

from tests.security._loopback_upstream import loopback_upstream, send_chat_completion
from tests.support.gateway import Gateway
from tests.support.sdk import sdk_client
from tests.support.waiting import wait_until

UPSTREAM_HOLD_SECONDS = 30.0


class _SlowUpstream(BaseHTTPRequestHandler):
    """Holds every request for up to UPSTREAM_HOLD_SECONDS and notes whether the gateway closed the connection
    first (the cancellation reached the upstream) or waited for the answer."""

    closed_early: ClassVar[list[str]] = []
    answered: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        text = body["messages"][0]["content"]
        readable, _, _ = select.select([self.connection], [], [], UPSTREAM_HOLD_SECONDS)
        if readable and self.connection.recv(1) == b"":
            self.closed_early.append(text)
            return
        send_chat_completion(self, "slow", "late")
        self.answered.append(text)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with loopback_upstream(_SlowUpstream) as api_base:
        yield api_base


@pytest.fixture(scope="module", params=["local", "tcp"])
def gateway(
    request: pytest.FixtureRequest, upstream: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp(f"unary-disconnect-{request.param}")
    params = {"model": "openai/slow", "api_base": upstream, "api_key": "sk-up"}
    config = {
        "database_url": f"sqlite:///{workdir / 'aqueduct.db'}",
        "usage_flush_interval_seconds": 0.05,
        "model_list": [{"model_name": "slow", "litellm_params": params, "model_info": {"mode": "chat"}}],
    }
    gw = Gateway(config, workdir, extra_args=("--core-transport", request.param)).start()
    gw.db_path = workdir / "aqueduct.db"  # type: ignore[attr-defined]
    try:
        yield gw
    finally:
        gw.stop()


def _statuses(gw: Gateway, request_id: str) -> list[int]:
    with sqlite3.connect(gw.db_path) as conn:  # type: ignore[attr-defined]
        rows = conn.execute("SELECT status FROM usage_records WHERE request_id = ?", (request_id,)).fetchall()
    return [row[0] for row in rows]


def test_client_timeout_cancels_the_upstream_call_and_records_499(gateway: Gateway) -> None:
    token = gateway.create_user_token("dc", "dc@example.com")
    tag = f"unary-dc-{gateway.base_url.rsplit(':', 1)[1]}"
    client = sdk_client(
        base_url=gateway.v1, api_key=token, max_retries=0, timeout=0.5, default_headers={"x-request-id": tag}
    )
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="slow", messages=[{"role": "user", "content": tag}])
    wait_until(lambda: tag in _SlowUpstream.closed_early, within=10, interval=0.05, what="upstream connection closed")
    assert wait_until(lambda: _statuses(gateway, tag), within=10, interval=0.05, what="usage row") == [499]
    assert tag not in _SlowUpstream.answered
