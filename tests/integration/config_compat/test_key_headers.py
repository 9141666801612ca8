"""The key headers other SDKs send instead of `Authorization: Bearer`: `api-key` (Azure OpenAI SDK) and
`x-api-key` (Anthropic SDK) carry the same tokens; a wrong one is a 401 in OpenAI's error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.support.gateway import Gateway

BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str]]:
    tmp: Path = tmp_path_factory.mktemp("headers")
    config = {
        "database_url": f"sqlite:///{tmp / 'a.db'}",
        "model_list": [{"model_name": "m", "litellm_params": {"model": "mock/m"}}],
    }
    gateway = Gateway(config, tmp).start()
    try:
        yield gateway, gateway.create_user_token("hdr", "hdr@example.com")
    finally:
        assert gateway.stop() == 0


@pytest.mark.parametrize("header", ["api-key", "x-api-key", "X-Api-Key", "Api-Key"])
def test_key_headers_authenticate(served: tuple[Gateway, str], header: str) -> None:
    gateway, token = served
    reply = httpx2.post(gateway.v1 + "/chat/completions", json=BODY, headers={header: token}, timeout=10)
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"]
    models = httpx2.get(gateway.v1 + "/models", headers={header: token}, timeout=10)
    assert models.status_code == 200 and [m["id"] for m in models.json()["data"]] == ["m"]


@pytest.mark.parametrize("header", ["api-key", "x-api-key"])
def test_a_wrong_key_in_those_headers_is_a_401(served: tuple[Gateway, str], header: str) -> None:
    gateway, _ = served
    reply = httpx2.post(gateway.v1 + "/chat/completions", json=BODY, headers={header: "sk-not-a-token"}, timeout=10)
    assert reply.status_code == 401
    error = reply.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "invalid_api_key")


def test_authorization_wins_over_the_key_headers(served: tuple[Gateway, str]) -> None:
    gateway, token = served
    headers = {"authorization": "Bearer sk-wrong", "x-api-key": token}
    reply = httpx2.post(gateway.v1 + "/chat/completions", json=BODY, headers=headers, timeout=10)
    assert reply.status_code == 401


def test_no_credential_names_every_accepted_header(served: tuple[Gateway, str]) -> None:
    gateway, _ = served
    reply = httpx2.post(gateway.v1 + "/chat/completions", json=BODY, timeout=10)
    assert reply.status_code == 401
    message = reply.json()["error"]["message"]
    assert "Bearer" in message and "api-key" in message and "x-api-key" in message
