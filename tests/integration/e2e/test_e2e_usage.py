"""Usage as recorded by a real gateway: attribution, user_id, disconnects, and no secrets at rest or in logs."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx2
import sqlalchemy as sa

from tests.integration.e2e.conftest import client
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import ADMIN_TOKEN, Gateway
from tests.support.waiting import wait_until

MESSAGES = [{"role": "user", "content": "Say hello"}]


def usage_rows(gateway: Gateway, request_id: str, *, wait: float = 5.0) -> list[dict[str, Any]]:
    """The usage rows of one request, waiting for the batched writer to flush them."""
    url = gateway.db_url.replace("postgresql://", "postgresql+psycopg://", 1)  # type: ignore[attr-defined]
    engine = sa.create_engine(url)

    def rows() -> list[dict[str, Any]]:
        with engine.connect() as conn:
            query = sa.text("SELECT * FROM usage_records WHERE request_id = :rid")
            return [dict(r) for r in conn.execute(query, {"rid": request_id}).mappings().all()]

    try:
        if wait == 0:
            return rows()
        return wait_until(rows, within=wait, interval=0.05, what=f"usage rows of {request_id}")
    finally:
        engine.dispose()


def test_usage_row_has_attribution_and_user_id(gateway: Gateway, upstream: FakeUpstream, user_token: str) -> None:
    rid = f"req-{uuid.uuid4().hex}"
    oc = client(gateway, user_token, headers={"x-request-id": rid})
    reply = oc.chat.completions.create(model="main", messages=MESSAGES, extra_body={"user_id": "student-42"})
    assert "user_id" not in upstream.requests[-1].json
    [row] = usage_rows(gateway, rid)
    assert row["end_user_id"] == "student-42"
    assert row["model"] == "chat-model"  # the alias is resolved
    assert row["endpoint_method"] == "POST" and row["endpoint_path"] == "/v1/chat/completions"
    assert row["status"] == 200
    assert row["input_tokens"] == reply.usage.prompt_tokens  # type: ignore[union-attr]
    assert row["output_tokens"] == reply.usage.completion_tokens  # type: ignore[union-attr]
    assert row["token_id"] and row["user_id"] and row["org_id"]
    assert "OpenAI/Python" in (row["user_agent"] or "")
    assert row["client_addr"]


def test_failed_upstream_call_is_recorded(gateway: Gateway, user_token: str) -> None:
    rid = f"req-{uuid.uuid4().hex}"
    resp = httpx2.post(
        gateway.v1 + "/chat/completions",
        headers={"Authorization": f"Bearer {user_token}", "x-request-id": rid},
        json={"model": "chat-model", "messages": MESSAGES, "x_fake": {"status": 503}},
    )
    assert resp.status_code == 503
    [row] = usage_rows(gateway, rid)
    assert row["status"] == 503


def test_disconnect_mid_stream_records_usage_and_gateway_stays_healthy(gateway: Gateway, user_token: str) -> None:
    rid = f"req-{uuid.uuid4().hex}"
    body = {
        "model": "chat-model",
        "messages": MESSAGES,
        "stream": True,
        "x_fake": {"chunks": 50, "chunk_delay_ms": 50},
    }
    headers = {"Authorization": f"Bearer {user_token}", "x-request-id": rid}
    with (
        httpx2.Client(timeout=10) as http,
        http.stream("POST", gateway.v1 + "/chat/completions", json=body, headers=headers) as resp,
    ):
        assert resp.status_code == 200
        seen = 0
        for line in resp.iter_lines():
            if line.startswith("data: {"):
                seen += 1
            if seen >= 5:
                break  # leaving the block closes the connection mid-stream
    [row] = usage_rows(gateway, rid)
    assert row["status"] == 499
    assert 0 < row["output_tokens"] < 50
    assert httpx2.get(gateway.base_url + "/health").status_code == 200
    oc = client(gateway, user_token)
    assert oc.chat.completions.create(model="chat-model", messages=MESSAGES).choices


def test_no_token_secret_in_database_or_logs(gateway: Gateway, user_token: str) -> None:
    rid = f"req-{uuid.uuid4().hex}"
    headers = {"x-request-id": rid}
    assert client(gateway, user_token, headers=headers).chat.completions.create(model="chat-model", messages=MESSAGES)
    assert usage_rows(gateway, rid)  # the usage writer has written what this request left in the database
    secrets = [user_token, ADMIN_TOKEN]
    for secret in secrets:
        assert secret not in gateway.log
    url: str = gateway.db_url  # type: ignore[attr-defined]
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # includes -wal
        for secret in secrets:
            assert secret.encode() not in data
    else:
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            dump = str(conn.execute(sa.text("SELECT * FROM api_tokens")).all())
        engine.dispose()
        assert user_token not in dump and user_token[3:20] not in dump


def test_upstream_without_stream_usage_is_estimated(gateway: Gateway, user_token: str) -> None:
    """llama.cpp's server sends no usage in streams: the gateway estimates it and says so."""
    rid = f"req-{uuid.uuid4().hex}"
    oc = client(gateway, user_token, headers={"x-request-id": rid})
    chunks = list(
        oc.chat.completions.create(
            model="chat-model",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"x_fake": {"no_usage": True}},
        )
    )
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and usage[0].completion_tokens > 0  # the client asked, so it gets the estimate
    [row] = usage_rows(gateway, rid)
    assert row["tokens_estimated"] is True or row["tokens_estimated"] == 1
    assert row["output_tokens"] == usage[0].completion_tokens
