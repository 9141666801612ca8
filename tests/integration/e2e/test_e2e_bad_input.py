"""Input a hostile tenant controls is refused at the edge with a 400 naming the field, before anything goes
upstream (security review #1 and #9: NUL in `user_id` hid usage on PostgreSQL; 8,192 embedding inputs stalled
every tenant)."""

from __future__ import annotations

import httpx2
import openai
import pytest

from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway
from tests.support.sdk import sdk_client

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("user_id", ["evade\x00", "\x1b[2J\x1b]0;owned\x07", "a\nb", "x" * 256, "rtl\u202eoverride"])
def test_bad_user_id_is_a_400_and_never_reaches_the_upstream(
    gateway: Gateway, upstream: FakeUpstream, user_token: str, user_id: str
) -> None:
    client = sdk_client(base_url=gateway.v1, api_key=user_token, max_retries=0)
    before = len(upstream.requests)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="chat-model", messages=MESSAGES, extra_body={"user_id": user_id})
    assert info.value.status_code == 400
    assert info.value.body["param"] == "user_id"  # type: ignore[index]
    assert len(upstream.requests) == before


def test_more_embedding_inputs_than_openai_allows_is_a_400(
    gateway: Gateway, upstream: FakeUpstream, user_token: str
) -> None:
    client = sdk_client(base_url=gateway.v1, api_key=user_token, max_retries=0)
    before = len(upstream.requests)
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="embed-model", input=["x"] * 2049)
    assert info.value.body["param"] == "input"  # type: ignore[index]
    assert "2048" in info.value.message
    assert len(upstream.requests) == before
    assert len(client.embeddings.create(model="embed-model", input=["x"] * 2048).data) == 2048


def _nested(depth: int) -> str:
    """JSON text nested `depth` arrays deep (built as text: client JSON encoders stop near 1,000 levels)."""
    return "[" * depth + '"leaf"' + "]" * depth


@pytest.mark.parametrize("depth", [250, 254, 300, 990, 1023])
def test_deeply_nested_json_is_a_400_never_a_500(
    gateway: Gateway, upstream: FakeUpstream, user_token: str, depth: int
) -> None:
    """Security review #8: nesting of 254+ in a forwarded field (or ~1,000 in an unknown one) gave 500s."""
    headers = {"authorization": f"Bearer {user_token}", "content-type": "application/json"}
    head = '{"model": "chat-model", "messages": [{"role": "user", "content": "hi"}], '
    tool = '{"type": "function", "function": {"name": "f", "parameters": {"x": ' + _nested(depth) + "}}}"
    before = len(upstream.requests)
    for field, body in (
        ("unknown_field", head + '"unknown_field": ' + _nested(depth) + "}"),
        ("tools[0].function.parameters", head + '"tools": [' + tool + "]}"),
    ):
        reply = httpx2.post(gateway.v1 + "/chat/completions", content=body, headers=headers, timeout=30)
        assert reply.status_code == 400, reply.text
        error = reply.json()["error"]
        assert error["type"] == "invalid_request_error"
        if error["param"] is None:  # past 1,024 levels in all the parser itself refuses the body
            assert depth > 1000 and error["message"].startswith("The body is not valid JSON")
        else:
            assert error["param"] == field and "levels deep" in error["message"]
    assert len(upstream.requests) == before
    shallow = head + '"unknown_field": ' + _nested(200) + "}"
    assert (
        httpx2.post(gateway.v1 + "/chat/completions", content=shallow, headers=headers, timeout=30).status_code == 200
    )
