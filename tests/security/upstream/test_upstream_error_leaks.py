"""Security review #4 and #5: an upstream's error never carries the gateway's credentials to the client, in any
field, in unary errors, stream errors before the first chunk or in-band error events; and its size is bounded
in what the client gets, what usage stores and what the log holds. An upstream 401 is the gateway's problem,
not the caller's: a 502, never `invalid_api_key`."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx2
import openai
import orjson
import pytest

from core.errors import MAX_UPSTREAM_MESSAGE_CHARS
from tests.security.upstream.conftest import BASIC_PASSWORD, UPSTREAM_KEY, usage_row
from tests.support.gateway import Gateway
from tests.support.sdk import sdk_client

CHAT = {"messages": [{"role": "user", "content": "hi"}]}
BASIC = base64.b64encode(f"gateway:{BASIC_PASSWORD}".encode()).decode()
SECRETS = (UPSTREAM_KEY, "sk-upstream", BASIC_PASSWORD, BASIC)


def _post(gateway: Gateway, token: str, body: dict[str, Any]) -> tuple[httpx2.Response, str]:
    request_id = f"sec-{uuid.uuid4().hex}"
    headers = {"authorization": f"Bearer {token}", "x-request-id": request_id}
    response = httpx2.post(gateway.v1 + "/chat/completions", json=body, headers=headers, timeout=60)
    return response, request_id


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.mark.parametrize("model", ["keyed", "basic"])
@pytest.mark.parametrize("stream", [False, True])
def test_an_error_echoing_the_key_in_every_field_reaches_the_client_scrubbed(
    gateway: Gateway, token: str, model: str, stream: bool
) -> None:
    body = {"model": model, **CHAT, "stream": stream, "x_fake": {"status": 500, "echo_key": True}}
    response, request_id = _post(gateway, token, body)
    assert response.status_code == 500
    _assert_no_secret(response.text)
    error = response.json()["error"]
    # The gateway's own type and codes, not the upstream's fields.
    assert (error["type"], error["code"], error["param"]) == ("server_error", None, None)
    assert error["message"].startswith("fake upstream error 500; you sent ")
    row = usage_row(gateway, request_id)
    assert row["status"] == 500
    _assert_no_secret(row["error_message"])
    _assert_no_secret(gateway.log)


@pytest.mark.parametrize("model", ["keyed", "basic"])
def test_an_in_band_error_event_echoing_the_key_is_scrubbed(gateway: Gateway, token: str, model: str) -> None:
    body = {"model": model, **CHAT, "stream": True, "x_fake": {"error_after": 2, "echo_key": True}}
    response, _ = _post(gateway, token, body)
    assert response.status_code == 200
    _assert_no_secret(response.text)
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    assert "[DONE]" not in events
    error = orjson.loads(events[-1])["error"]
    assert (error["type"], error["code"], error["param"]) == ("server_error", None, None)
    assert "upstream failed" in error["message"]
    _assert_no_secret(gateway.log)


def test_a_50_mb_error_body_is_bounded_for_the_client_the_usage_row_and_the_log(gateway: Gateway, token: str) -> None:
    body = {"model": "keyed", **CHAT, "x_fake": {"status": 500, "error_bytes": 50_000_000}}
    response, request_id = _post(gateway, token, body)
    assert response.status_code == 500
    assert len(response.json()["error"]["message"]) <= MAX_UPSTREAM_MESSAGE_CHARS
    row = usage_row(gateway, request_id)
    assert (row["status"], len(row["error_message"]) <= MAX_UPSTREAM_MESSAGE_CHARS) == (500, True)
    assert max(len(line) for line in gateway.log_lines) < 4 * MAX_UPSTREAM_MESSAGE_CHARS


def test_an_upstream_401_is_a_502_saying_the_upstream_refused_the_gateways_credentials(
    gateway: Gateway, token: str
) -> None:
    client = sdk_client(base_url=gateway.v1, api_key=token, max_retries=0)
    fake = {"status": 401, "error_message": "Incorrect API key provided: sk-up****cdef."}
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model="keyed", messages=[{"role": "user", "content": "hi"}], extra_body={"x_fake": fake}
        )
    err = info.value
    assert not isinstance(err, openai.AuthenticationError)
    assert err.status_code == 502
    assert err.code == "upstream_auth_failed"
    assert "rejected the gateway's credentials" in err.message and "sk-up" not in err.message
    # The caller's own token still works: the SDK was not told it is wrong.
    assert client.chat.completions.create(model="keyed", messages=[{"role": "user", "content": "hi"}]).choices
