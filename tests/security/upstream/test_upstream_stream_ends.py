"""Security review §7 (#16 items): a stream's total length is bounded by the deployment's `timeout`, and an
upstream that ends its body without `[DONE]` is reported as an error, to the client and in usage, not
presented as a complete answer."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2
import orjson

from tests.security.upstream.conftest import SHORT_TIMEOUT_S, usage_row
from tests.support.gateway import Gateway

CHAT = {"messages": [{"role": "user", "content": "hi"}], "stream": True}


def _stream(gateway: Gateway, token: str, body: dict[str, Any]) -> tuple[list[str], str]:
    """The SSE data lines of the answer, and the request id."""
    request_id = f"sec-{uuid.uuid4().hex}"
    headers = {"authorization": f"Bearer {token}", "x-request-id": request_id}
    response = httpx2.post(gateway.v1 + "/chat/completions", json=body, headers=headers, timeout=60)
    assert response.status_code == 200
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    return events, request_id


def test_a_trickle_past_the_total_timeout_ends_with_an_in_band_timeout_and_a_504_row(
    gateway: Gateway, token: str
) -> None:
    # 30 chunks 0.25 s apart: each gap is well within stream_timeout, the whole far past `timeout`.
    chunks = 30
    assert chunks * 0.25 > 3 * SHORT_TIMEOUT_S
    body = {"model": "short", **CHAT, "x_fake": {"chunks": chunks, "chunk_delay_ms": 250}}
    events, request_id = _stream(gateway, token, body)
    assert "[DONE]" not in events
    error = orjson.loads(events[-1])["error"]
    assert error["type"] == "timeout_error"
    content = [e for e in events[:-1] if orjson.loads(e).get("choices")]
    assert 0 < len(content) < chunks
    row = usage_row(gateway, request_id)
    assert row["status"] == 504
    assert row["output_tokens"] > 0


def test_a_clean_eof_without_done_is_an_error_for_the_client_and_in_usage(gateway: Gateway, token: str) -> None:
    body = {"model": "keyed", **CHAT, "stream_options": {"include_usage": True}, "x_fake": {"no_done": True}}
    events, request_id = _stream(gateway, token, body)
    assert "[DONE]" not in events
    error = orjson.loads(events[-1])["error"]
    assert error["type"] == "server_error" and "no [DONE]" in error["message"]
    # The upstream's own usage came before the cut; no synthetic (estimated) usage chunk was made up.
    assert not any((orjson.loads(e).get("usage") or {}).get("estimated") for e in events[:-1])
    row = usage_row(gateway, request_id)
    assert row["status"] == 502
    assert row["output_tokens"] > 0
    assert "no [DONE]" in row["error_message"]
