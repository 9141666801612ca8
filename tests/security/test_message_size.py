"""Issue 16 item 6: messages of any allowed size work over the TCP transport, and sizes beyond the limits are
answered as what they are, never as a retryable 429 rate limit.

`aqueduct serve --core-transport tcp` (the façade calls core over loopback gRPC, as split processes do), the
OpenAI SDK with its default retries, and a hostile loopback upstream that answers with a 66 MiB completion
(over the 65 MiB gRPC message limit that the default 32 MiB body cap gives)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import openai
import pytest

from tests.security._loopback_upstream import loopback_upstream, send_chat_completion
from tests.support.gateway import Gateway
from tests.support.sdk import sdk_client
from tests.support.waiting import wait_until

BIG_CONTENT_BYTES = 66 * 1024 * 1024


class _Upstream(BaseHTTPRequestHandler):
    """/v1/chat/completions: model "huge" answers with a 66 MiB message, others with a body-sized echo."""

    requests = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        type(self).requests += 1
        size = BIG_CONTENT_BYTES if body["model"] == "huge" else 10
        send_chat_completion(self, body["model"], "x" * size)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with loopback_upstream(_Upstream) as api_base:
        yield api_base


@pytest.fixture(scope="module")
def gateway(upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("message-size")

    def model(name: str) -> dict[str, object]:
        params = {"model": f"openai/{name}", "api_base": upstream, "api_key": "sk-up"}
        return {"model_name": name, "litellm_params": params, "model_info": {"mode": "chat"}}

    config = {
        "database_url": f"sqlite:///{workdir / 'aqueduct.db'}",
        "usage_flush_interval_seconds": 0.05,
        "model_list": [model("huge"), model("small")],
    }
    gw = Gateway(config, workdir, extra_args=("--core-transport", "tcp")).start()
    gw.db_path = workdir / "aqueduct.db"  # type: ignore[attr-defined]
    try:
        yield gw
    finally:
        gw.stop()


def _status_of(gw: Gateway, request_id: str) -> list[int]:
    with sqlite3.connect(gw.db_path) as conn:  # type: ignore[attr-defined]
        rows = conn.execute("SELECT status FROM usage_records WHERE request_id = ?", (request_id,)).fetchall()
    return [row[0] for row in rows]


def test_upstream_answer_too_big_to_relay_is_502_and_recorded_so(gateway: Gateway) -> None:
    token = gateway.create_user_token("size", "size@example.com")
    client = sdk_client(base_url=gateway.v1, api_key=token, default_headers={"x-request-id": "too-big-answer"})
    before = _Upstream.requests
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="huge", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 502
    assert raised.value.response.headers["x-should-retry"] == "false"  # so the SDK sent it once
    assert "larger than max" not in raised.value.message  # no gRPC internals
    rows = wait_until(lambda: _status_of(gateway, "too-big-answer"), within=10, interval=0.05, what="usage row")
    assert 200 not in rows
    assert rows == [502]
    assert _Upstream.requests - before == 1


def test_body_over_the_cap_is_413_and_not_retried(gateway: Gateway) -> None:
    token = gateway.create_user_token("size", "size@example.com")
    client = sdk_client(base_url=gateway.v1, api_key=token)  # default max_retries=2
    before = _Upstream.requests
    with pytest.raises(openai.APIStatusError) as raised:
        client.chat.completions.create(model="small", messages=[{"role": "user", "content": "y" * (40 << 20)}])
    assert raised.value.status_code == 413
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert _Upstream.requests == before


def test_body_just_under_the_cap_works_over_tcp(gateway: Gateway) -> None:
    token = gateway.create_user_token("size", "size@example.com")
    client = sdk_client(base_url=gateway.v1, api_key=token, max_retries=0)
    content = "z" * (31 << 20)  # 31 MiB of JSON, near the default 32 MiB cap
    reply = client.chat.completions.create(model="small", messages=[{"role": "user", "content": content}])
    assert reply.choices[0].message.content == "x" * 10
