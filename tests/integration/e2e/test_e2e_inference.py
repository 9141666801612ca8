"""The official OpenAI SDK against a real gateway process, with a recording upstream behind it."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from datetime import UTC, datetime, timedelta

import httpx2
import openai
import pytest

from tests.integration.e2e.conftest import UPSTREAM_KEY, client
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway
from tests.support.waiting import wait_until

MESSAGES = [{"role": "user", "content": "Say hello"}]


@pytest.mark.parametrize("v1", [True, False], ids=["v1", "no-prefix"])
def test_every_endpoint(gateway: Gateway, user_token: str, v1: bool) -> None:
    oc = client(gateway, user_token, v1=v1)
    chat = oc.chat.completions.create(model="chat-model", messages=MESSAGES)
    assert chat.choices[0].message.role == "assistant"
    assert chat.choices[0].message.content
    assert chat.usage is not None and chat.usage.total_tokens > 0

    text = oc.completions.create(model="text-model", prompt="Once upon")
    assert text.choices[0].text
    assert text.usage is not None and text.usage.completion_tokens > 0

    emb = oc.embeddings.create(model="embed-model", input=["a", "b"], encoding_format="float")
    assert [d.index for d in emb.data] == [0, 1]
    assert len(emb.data[0].embedding) > 0

    models = {m.id for m in oc.models.list()}
    assert {"chat-model", "text-model", "embed-model"} <= models
    assert oc.models.retrieve("chat-model").id == "chat-model"


def test_embeddings_base64_passes_through(gateway: Gateway, user_token: str) -> None:
    # The SDK asks for base64 by default and decodes it itself.
    emb = client(gateway, user_token).embeddings.create(model="embed-model", input="hello", dimensions=8)
    assert len(emb.data[0].embedding) == 8
    raw = httpx2.post(
        gateway.v1 + "/embeddings",
        headers={"Authorization": f"Bearer {user_token}"},
        json={"model": "embed-model", "input": "hello", "encoding_format": "base64", "dimensions": 4},
    ).json()
    vec = raw["data"][0]["embedding"]
    assert isinstance(vec, str) and len(struct.unpack("<4f", base64.b64decode(vec))) == 4


@pytest.mark.parametrize("include_usage", [True, False])
def test_streaming_usage_only_when_asked(
    gateway: Gateway, upstream: FakeUpstream, user_token: str, include_usage: bool
) -> None:
    kwargs = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(
        client(gateway, user_token).chat.completions.create(
            model="chat-model", messages=MESSAGES, stream=True, **kwargs
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == (1 if include_usage else 0)
    # The gateway always asks the upstream for usage, to record tokens.
    sent = upstream.requests[-1].json
    assert sent["stream"] is True and sent["stream_options"]["include_usage"] is True


def test_completions_stream(gateway: Gateway, user_token: str) -> None:
    chunks = list(client(gateway, user_token).completions.create(model="text-model", prompt="x", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices)


def test_alias_resolves_to_model(gateway: Gateway, upstream: FakeUpstream, user_token: str) -> None:
    client(gateway, user_token).chat.completions.create(model="coding", messages=MESSAGES)
    assert upstream.requests[-1].json["model"] == "chat-model-upstream"
    assert client(gateway, user_token).models.retrieve("main").id == "chat-model"


def test_upstream_sees_own_key_and_unknown_fields_unchanged(
    gateway: Gateway, upstream: FakeUpstream, user_token: str
) -> None:
    client(gateway, user_token).chat.completions.create(
        model="chat-model",
        messages=MESSAGES,
        user="openai-user-1",
        extra_body={"user_id": "end-user-7", "top_k": 40, "repetition_penalty": 1.5, "vendor": {"a": [1, 2.5]}},
    )
    seen = upstream.requests[-1]
    assert seen.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert user_token not in repr(seen.headers) and user_token not in seen.body.decode()
    assert seen.json["top_k"] == 40 and isinstance(seen.json["top_k"], int)
    assert seen.json["repetition_penalty"] == 1.5
    assert seen.json["vendor"] == {"a": [1, 2.5]}
    assert seen.json["user"] == "openai-user-1"
    assert "user_id" not in seen.json


def test_auth_failures_are_401(gateway: Gateway) -> None:
    for token in ["", "sk-not-a-real-token-" + "a" * 30, "garbage"]:
        with pytest.raises(openai.AuthenticationError) as err:
            client(gateway, token or "x").chat.completions.create(model="chat-model", messages=MESSAGES)
        assert err.value.status_code == 401
    resp = httpx2.post(gateway.v1 + "/chat/completions", json={"model": "chat-model", "messages": MESSAGES})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"


def test_expired_token_is_401(gateway: Gateway) -> None:
    gateway.cli("org", "create", "e2e", check=False)
    gateway.cli("user", "create", "expiring@example.com", "--org", "e2e", check=False)
    # Long enough that the token is still valid when first used, even with the CLI slow on a loaded machine.
    expires = datetime.now(UTC) + timedelta(seconds=5)
    secret = gateway.cli(
        "token", "create", "--user", "expiring@example.com", "--name", "short", "--expires-at", expires.isoformat()
    ).stdout.strip()
    with client(gateway, secret) as oc:
        assert oc.models.list().data  # valid until it expires, even while cached

        def refused() -> openai.AuthenticationError | None:
            try:
                oc.models.list()
            except openai.AuthenticationError as exc:
                return exc
            return None

        error = wait_until(refused, within=15, interval=0.2, what="the expired token to be refused")
    assert datetime.now(UTC) >= expires
    assert "expired" in error.message


def test_deleted_token_stops_working_within_5s(gateway: Gateway) -> None:
    secret = gateway.create_user_token("e2e", "deleter@example.com", "doomed")
    with client(gateway, secret) as oc:
        assert oc.models.list().data
        listing = gateway.cli("token", "list", "--user", "deleter@example.com", "--json").stdout
        token_id = next(t["id"] for t in json.loads(listing) if t["name"] == "doomed")
        gateway.cli("token", "delete", token_id)

        def refused() -> bool:
            try:
                oc.models.list()
            except openai.AuthenticationError:
                return True
            return False

        wait_until(refused, within=5, interval=0.2, what="the deleted token to be refused")


def test_error_rows(gateway: Gateway, user_token: str) -> None:
    oc = client(gateway, user_token)
    with pytest.raises(openai.NotFoundError):
        oc.chat.completions.create(model="no-such-model", messages=MESSAGES)
    with pytest.raises(openai.BadRequestError) as bad:
        oc.chat.completions.create(model="chat-model", messages="hi")  # type: ignore[arg-type]
    assert bad.value.body["param"] == "messages"  # type: ignore[index]
    for status, exc in [(429, openai.RateLimitError), (500, openai.InternalServerError), (400, openai.BadRequestError)]:
        with pytest.raises(exc) as err:
            oc.chat.completions.create(model="chat-model", messages=MESSAGES, extra_body={"x_fake": {"status": status}})
        assert err.value.status_code == status
        assert UPSTREAM_KEY not in str(err.value.body)
    with pytest.raises(openai.APITimeoutError if False else openai.APIStatusError) as timeout:
        oc.chat.completions.create(model="slow-model", messages=MESSAGES, extra_body={"x_fake": {"latency_ms": 3000}})
    assert timeout.value.status_code == 504


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"messages": []}', 400),
        (b'{"model": "chat-model", "messages": [], "max_tokens": "x"}', 400),
    ],
)
def test_malformed_bodies_are_400(gateway: Gateway, user_token: str, body: bytes, status: int) -> None:
    resp = httpx2.post(
        gateway.v1 + "/chat/completions",
        content=body,
        headers={"Authorization": f"Bearer {user_token}", "content-type": "application/json"},
    )
    assert resp.status_code == status
    err = resp.json()["error"]
    assert err["type"] == "invalid_request_error" and err["message"]


def test_wrong_method_and_unknown_path(gateway: Gateway, user_token: str) -> None:
    headers = {"Authorization": f"Bearer {user_token}"}
    assert httpx2.get(gateway.v1 + "/chat/completions", headers=headers).status_code == 405
    resp = httpx2.get(gateway.v1 + "/nope", headers=headers)
    assert resp.status_code == 404 and "error" in resp.json()


async def test_64_concurrent_requests(gateway: Gateway, user_token: str) -> None:
    async with openai.AsyncOpenAI(base_url=gateway.v1, api_key=user_token, max_retries=0) as oc:
        results = await asyncio.gather(
            *[oc.chat.completions.create(model="chat-model", messages=MESSAGES) for _ in range(64)]
        )
    assert all(r.choices[0].message.content for r in results)
