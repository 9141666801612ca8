"""`aqueduct serve` answers the same over its in-process transport (the default) and over loopback gRPC
(AQUEDUCT_CORE_TRANSPORT=tcp): status, OpenAI error bodies, the headers the error table sets, streams."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.integration.e2e.conftest import gateway_config, transport_env
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway

CHAT: dict[str, Any] = {"model": "chat-model", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def gateways(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Gateway]]:
    started: dict[str, Gateway] = {}
    try:
        for transport in ("local", "tcp"):
            workdir: Path = tmp_path_factory.mktemp(f"parity-{transport}")
            config = gateway_config(upstream.url, f"sqlite:///{workdir / 'aqueduct.db'}")
            gw = Gateway(config, workdir, env=transport_env(transport))
            started[transport] = gw.start()
        yield started
    finally:
        for gw in started.values():
            gw.stop()


def _exchange(gw: Gateway, token: str, method: str, path: str, body: Any = None) -> tuple[int, Any, dict[str, str]]:
    headers = {"authorization": f"Bearer {token}", "x-request-id": "parity-1"}
    response = httpx2.request(method, gw.v1 + path, json=body, headers=headers, timeout=30)
    kept = {k: v for k, v in response.headers.items() if k.startswith(("x-", "retry-after", "content-type"))}
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        events = [line for line in response.text.split("\n\n") if line]
        return response.status_code, [e.startswith("data: ") for e in events] + [events[-1]], kept
    payload = response.json()
    for volatile in ("id", "created"):
        if isinstance(payload, dict):
            payload.pop(volatile, None)
    return response.status_code, payload, kept


CASES: list[tuple[str, str, str, Any]] = [
    ("chat", "POST", "/chat/completions", CHAT),
    ("stream", "POST", "/chat/completions", {**CHAT, "stream": True, "stream_options": {"include_usage": True}}),
    ("embeddings", "POST", "/embeddings", {"model": "embed-model", "input": "hi", "encoding_format": "float"}),
    ("models", "GET", "/models", None),
    ("unknown model", "POST", "/chat/completions", {**CHAT, "model": "no-such-model"}),
    ("bad request", "POST", "/chat/completions", {"model": "chat-model"}),
    ("bad param", "POST", "/chat/completions", {**CHAT, "temperature": "hot"}),
    ("model 404", "GET", "/models/no-such-model", None),
]


@pytest.mark.parametrize(("name", "method", "path", "body"), CASES, ids=[c[0] for c in CASES])
def test_same_answer_both_ways(gateways: dict[str, Gateway], name: str, method: str, path: str, body: Any) -> None:
    answers = {}
    for transport, gw in gateways.items():
        token = gw.create_user_token("parity", "parity@example.com")
        answers[transport] = _exchange(gw, token, method, path, body)
    assert answers["local"] == answers["tcp"]


def test_bad_token_same_both_ways(gateways: dict[str, Gateway]) -> None:
    answers = {t: _exchange(gw, "sk-not-a-token", "POST", "/chat/completions", CHAT) for t, gw in gateways.items()}
    assert answers["local"][0] == 401
    assert answers["local"] == answers["tcp"]
