"""The fake upstream against real sockets, with the OpenAI SDK and raw httpx2."""

from __future__ import annotations

import array
import base64
import time
from typing import Any

import httpx2
import openai
import orjson
import pytest
from openai.types.chat import ChatCompletionMessageParam

from tests.support.fake_upstream import FakeUpstream, FakeUpstreamConfig, FakeUpstreamProcess, fake_content
from tests.support.fake_upstream import fake_embedding as expected_vector

AUTH = {"authorization": "Bearer sk-test"}
MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there fake"}]
CHAT: dict[str, Any] = {"model": "m-echo", "messages": MESSAGES}


def sdk(up: FakeUpstream) -> openai.OpenAI:
    return openai.OpenAI(base_url=up.base_url, api_key="sk-test", max_retries=0, timeout=10)


def sse_events(body: bytes) -> list[bytes]:
    return [e[len(b"data: ") :] for e in body.split(b"\n\n") if e]


def test_chat_non_stream_is_valid_and_recorded(fresh: FakeUpstream) -> None:
    with sdk(fresh) as client:
        r = client.chat.completions.create(model="m-echo", messages=MESSAGES)
    assert r.object == "chat.completion"
    assert r.id.startswith("chatcmpl-") and r.created > 0 and r.model == "m-echo"
    choice = r.choices[0]
    assert (choice.index, choice.finish_reason, choice.logprobs) == (0, "stop", None)
    assert choice.message.role == "assistant" and choice.message.content == fake_content(20)
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (3, 20, 23)
    [rec] = fresh.requests
    assert (rec.method, rec.path) == ("POST", "/v1/chat/completions")
    assert rec.headers["authorization"] == "Bearer sk-test"
    assert rec.json["model"] == "m-echo" and orjson.loads(rec.body) == rec.json


def test_paths_work_without_v1_prefix(fresh: FakeUpstream) -> None:
    r = httpx2.post(fresh.url + "/chat/completions", json=CHAT, headers=AUTH)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == fake_content(20)


def test_stream_with_usage(fresh: FakeUpstream) -> None:
    with sdk(fresh) as client:
        chunks = list(
            client.chat.completions.create(
                model="m-echo",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert len(chunks) == 22  # 20 content, 1 finish, 1 usage
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == fake_content(20)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[20].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 20
    assert all(c.object == "chat.completion.chunk" and c.model == "m-echo" for c in chunks)
    assert len({c.id for c in chunks}) == 1


def test_stream_raw_framing_without_usage(fresh: FakeUpstream) -> None:
    r = httpx2.post(fresh.url + "/v1/chat/completions", json={**CHAT, "stream": True}, headers=AUTH)
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.content.endswith(b"data: [DONE]\n\n")
    events = sse_events(r.content)
    assert len(events) == 22 and events[-1] == b"[DONE]"
    assert all("usage" not in orjson.loads(e) for e in events[:-1])


def test_no_usage_knob_omits_usage_chunk(fresh: FakeUpstream) -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    r = httpx2.post(fresh.url + "/v1/chat/completions", json=body, headers={**AUTH, "x-fake-no-usage": "1"})
    events = sse_events(r.content)
    assert len(events) == 22
    assert all(orjson.loads(e)["choices"] for e in events[:-1])


def test_chunks_knob_and_max_tokens(fresh: FakeUpstream) -> None:
    r = httpx2.post(fresh.url + "/v1/chat/completions", json=CHAT, headers={**AUTH, "x-fake-chunks": "3"})
    assert r.json()["choices"][0]["message"]["content"] == fake_content(3)
    r = httpx2.post(fresh.url + "/v1/chat/completions", json={**CHAT, "max_tokens": 5}, headers=AUTH)
    choice = r.json()["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == (fake_content(5), "length")


def test_body_knobs_for_callers_that_cannot_set_headers(fresh: FakeUpstream) -> None:
    r = httpx2.post(fresh.url + "/v1/chat/completions", json={**CHAT, "x_fake": {"chunks": 2}}, headers=AUTH)
    assert r.json()["choices"][0]["message"]["content"] == fake_content(2)
    r = httpx2.post(fresh.url + "/v1/chat/completions", json={**CHAT, "x_fake": {"status": 503}}, headers=AUTH)
    assert r.status_code == 503 and r.json()["error"]["type"] == "server_error"


def test_legacy_completions(fresh: FakeUpstream) -> None:
    with sdk(fresh) as client:
        r = client.completions.create(model="m-echo", prompt="one two", n=2)
        chunks = list(
            client.completions.create(
                model="m-echo", prompt="one two", stream=True, stream_options={"include_usage": True}
            )
        )
    assert r.object == "text_completion" and [c.text for c in r.choices] == [fake_content(20)] * 2
    assert r.usage is not None and r.usage.completion_tokens == 40
    assert "".join(c.choices[0].text for c in chunks if c.choices) == fake_content(20)
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 2


def test_embeddings_float_and_base64_agree(fresh: FakeUpstream) -> None:
    inputs = ["alpha beta", "gamma"]
    as_float = httpx2.post(
        fresh.url + "/v1/embeddings", json={"model": "e", "input": inputs, "encoding_format": "float"}, headers=AUTH
    ).json()
    as_b64 = httpx2.post(
        fresh.url + "/v1/embeddings", json={"model": "e", "input": inputs, "encoding_format": "base64"}, headers=AUTH
    ).json()
    assert as_float["object"] == "list" and as_float["model"] == "e"
    assert as_float["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    for f, b, text in zip(as_float["data"], as_b64["data"], inputs, strict=True):
        assert f["object"] == "embedding" and len(f["embedding"]) == 1536
        decoded = array.array("f", base64.b64decode(b["embedding"])).tolist()
        assert decoded == f["embedding"] == expected_vector(text, 1536)


def test_embeddings_dimensions_via_sdk(fresh: FakeUpstream) -> None:
    with sdk(fresh) as client:  # the SDK asks for base64 and decodes it
        r = client.embeddings.create(model="e", input="hi", dimensions=8)
    assert r.data[0].embedding == expected_vector("hi", 8)
    r2 = httpx2.post(fresh.url + "/v1/embeddings", json={"model": "e", "input": "x", "dimensions": 0}, headers=AUTH)
    assert r2.status_code == 400 and r2.json()["error"]["param"] == "dimensions"


def test_models(fresh: FakeUpstream) -> None:
    with sdk(fresh) as client:
        ids = [m.id for m in client.models.list()]
    assert ids == ["bench-chat", "bench-embed", "fake-model"]


def test_missing_authorization_is_401(fresh: FakeUpstream) -> None:
    r = httpx2.post(fresh.url + "/v1/chat/completions", json=CHAT)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_api_key"
    assert "authorization" not in fresh.requests[-1].headers


@pytest.mark.parametrize(("status", "exc"), [(429, openai.RateLimitError), (500, openai.InternalServerError)])
def test_status_knob(fresh: FakeUpstream, status: int, exc: type[Exception]) -> None:
    r = httpx2.post(fresh.url + "/v1/chat/completions", json=CHAT, headers={**AUTH, "x-fake-status": str(status)})
    assert r.status_code == status
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert ("retry-after" in r.headers) == (status == 429)
    with sdk(fresh) as client, pytest.raises(exc):
        client.chat.completions.create(model="m", messages=[], extra_headers={"x-fake-status": str(status)})


def test_reset_closes_without_response(fresh: FakeUpstream) -> None:
    with pytest.raises((httpx2.ReadError, httpx2.RemoteProtocolError)):
        httpx2.post(fresh.url + "/v1/chat/completions", json=CHAT, headers={**AUTH, "x-fake-reset": "1"})
    assert httpx2.post(fresh.url + "/v1/chat/completions", json=CHAT, headers=AUTH).status_code == 200


def test_reset_after_mid_stream(fresh: FakeUpstream) -> None:
    body = {**CHAT, "stream": True}
    with (
        httpx2.Client() as c,
        c.stream(
            "POST", fresh.url + "/v1/chat/completions", json=body, headers={**AUTH, "x-fake-reset-after": "3"}
        ) as r,
    ):
        assert r.status_code == 200
        with pytest.raises((httpx2.ReadError, httpx2.RemoteProtocolError)):
            r.read()


def test_malformed_sse_event_mid_stream(fresh: FakeUpstream) -> None:
    body = {**CHAT, "stream": True}
    r = httpx2.post(fresh.url + "/v1/chat/completions", json=body, headers={**AUTH, "x-fake-malformed-sse": "2"})
    events = sse_events(r.content)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(events[2])
    assert len(events) == 23 and events[-1] == b"[DONE]"


def test_stall_after_holds_the_stream(fresh: FakeUpstream) -> None:
    body = {**CHAT, "stream": True}
    got = b""
    with (
        httpx2.Client(timeout=httpx2.Timeout(5, read=0.5)) as c,
        c.stream(
            "POST", fresh.url + "/v1/chat/completions", json=body, headers={**AUTH, "x-fake-stall-after": "2"}
        ) as r,
        pytest.raises(httpx2.ReadTimeout),
    ):
        for part in r.iter_bytes():
            got += part
    assert len(sse_events(got)) == 2


def test_latency_knob(fresh: FakeUpstream) -> None:
    t0 = time.perf_counter()
    httpx2.post(fresh.url + "/v1/chat/completions", json=CHAT, headers={**AUTH, "x-fake-latency-ms": "150"})
    assert time.perf_counter() - t0 >= 0.15


def test_recording_is_bounded_and_resettable() -> None:
    with FakeUpstream(FakeUpstreamConfig(max_recorded=3)) as up:
        for _ in range(5):
            httpx2.get(up.url + "/v1/models", headers=AUTH)
        assert len(up.requests) == 3
        up.reset()
        assert up.requests == []


def test_unknown_path_and_method(fresh: FakeUpstream) -> None:
    assert httpx2.post(fresh.url + "/v1/nope", json={}, headers=AUTH).status_code == 404
    assert httpx2.get(fresh.url + "/v1/chat/completions", headers=AUTH).status_code == 405


def test_subprocess_runner() -> None:
    with FakeUpstreamProcess(["--latency-ms", "1"]) as up:
        r = httpx2.post(up.url + "/v1/chat/completions", json=CHAT, headers=AUTH)
        assert r.status_code == 200 and r.json()["model"] == "m-echo"
