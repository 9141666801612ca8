"""Issue 16 item 12: the audit fields of a usage record are the gateway's own.

The review sent `x-aqueduct-client-addr: 10.66.66.66` and `x-aqueduct-user-agent: spoofed-agent` with a user
token over gRPC and found them stored as given; over HTTP, `X-Forwarded-For: 6.6.6.6, 7.7.7.7` from 127.0.0.1
stored `client_addr=7.7.7.7` (uvicorn's default trust of loopback). Now core believes those keys only from the
façade (which proves itself with its own credential) and the HTTP server believes X-Forwarded-For only from the
proxies in `forwarded_allow_ips` (none by default)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import httpx2
import pytest
from aqueduct.v1 import chat_pb2, chat_service_pb2, chat_service_pb2_grpc

from aqueduct_server.cli import TRANSPORT_ENV
from tests.integration.e2e.test_e2e_usage import usage_rows
from tests.security.conftest import fresh_user_token, start_gateway
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway

SPOOFED = (
    ("x-aqueduct-client-addr", "10.66.66.66"),
    ("x-aqueduct-user-agent", "spoofed-agent"),
    ("x-aqueduct-endpoint", "POST /v1/chat/completions"),
)


@pytest.fixture(scope="module", params=["local", "tcp"])
def gateway(
    request: pytest.FixtureRequest, fake_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    # Both ways `aqueduct serve` reaches its core: in-process calls and loopback gRPC.
    env = {TRANSPORT_ENV: request.param}
    gw = start_gateway(fake_upstream, tmp_path_factory, f"audit-{request.param}", env=env)
    try:
        yield gw
    finally:
        gw.stop()


def _grpc_chat(gw: Gateway, token: str, extra: tuple[tuple[str, str], ...]) -> str:
    request_id = uuid.uuid4().hex
    request = chat_service_pb2.CreateChatCompletionRequest(
        params=chat_pb2.ChatCompletionParams(
            model="chat-model", messages=[chat_pb2.ChatMessage(role=chat_pb2.CHAT_ROLE_USER, text="hi")]
        )
    )
    metadata = (("authorization", f"Bearer {token}"), ("x-request-id", request_id), *extra)
    with grpc.insecure_channel(gw.core_target) as channel:
        chat_service_pb2_grpc.ChatServiceStub(channel).CreateChatCompletion(request, metadata=metadata)
    return request_id


def _row(gw: Gateway, request_id: str) -> dict[str, Any]:
    [row] = usage_rows(gw, request_id)
    return row


def test_grpc_caller_cannot_set_the_audit_fields(gateway: Gateway) -> None:
    row = _row(gateway, _grpc_chat(gateway, fresh_user_token(gateway), SPOOFED))
    print("gRPC with spoofed metadata stored:", row["client_addr"], row["user_agent"], row["endpoint_path"])
    assert row["client_addr"] == "127.0.0.1"
    assert (row["user_agent"] or "").startswith("grpc-python")
    assert (row["endpoint_method"], row["endpoint_path"]) == ("GRPC", "/aqueduct.v1.ChatService/CreateChatCompletion")


def test_a_guessed_facade_credential_is_not_trusted(gateway: Gateway) -> None:
    guessed = (*SPOOFED, ("x-aqueduct-facade-credential", "guess"))
    row = _row(gateway, _grpc_chat(gateway, fresh_user_token(gateway), guessed))
    assert (row["client_addr"], row["endpoint_method"]) == ("127.0.0.1", "GRPC")
    assert row["user_agent"] != "spoofed-agent"


def _http_chat(gw: Gateway, headers: dict[str, str]) -> dict[str, Any]:
    """The usage row of one chat request over HTTP with these extra headers."""
    request_id = uuid.uuid4().hex
    reply = httpx2.post(
        gw.v1 + "/chat/completions",
        headers={"Authorization": f"Bearer {fresh_user_token(gw)}", "X-Request-Id": request_id, **headers},
        json={"model": "chat-model", "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return _row(gw, request_id)


def test_http_client_facts_come_from_the_facade_and_x_forwarded_for_is_not_believed(gateway: Gateway) -> None:
    row = _http_chat(gateway, {"User-Agent": "audit-test/1.0", "X-Forwarded-For": "6.6.6.6, 7.7.7.7"})
    print("HTTP with X-Forwarded-For stored:", row["client_addr"], row["user_agent"], row["endpoint_path"])
    assert row["client_addr"] == "127.0.0.1"
    assert row["user_agent"] == "audit-test/1.0"
    assert (row["endpoint_method"], row["endpoint_path"]) == ("POST", "/v1/chat/completions")


def test_x_forwarded_for_is_believed_from_a_configured_proxy(
    fake_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gw = start_gateway(fake_upstream, tmp_path_factory, "audit-proxy", forwarded_allow_ips=["127.0.0.1"])
    try:
        assert _http_chat(gw, {"X-Forwarded-For": "7.7.7.7"})["client_addr"] == "7.7.7.7"
    finally:
        gw.stop()
