"""Every endpoint through the official openai SDK, with and without the /v1 prefix, plus forwarded metadata."""

from __future__ import annotations

import base64
import struct

import httpx2
import openai
import pytest

from tests.integration.facade.conftest import serve_facade
from tests.integration.facade.facade_fake_core import FakeCore

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_chat_completion(any_client: openai.AsyncOpenAI, fake_core: FakeCore) -> None:
    completion = await any_client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "hello"}],
        temperature=0.5,
        extra_body={"top_k": 40},
    )
    assert completion.choices[0].message.content == "echo: hello"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens == 5
    assert completion.system_fingerprint == "fp_fake"
    recorded = fake_core.last
    assert recorded.method == "CreateChatCompletion"
    assert recorded.request.params.temperature == 0.5
    assert recorded.request.params.extra_json == '{"top_k":40}'
    assert recorded.metadata["authorization"] == "Bearer sk-test"
    assert recorded.metadata["x-aqueduct-endpoint"] == "POST /v1/chat/completions"
    assert recorded.metadata["x-aqueduct-client-addr"] == "127.0.0.1"
    assert "OpenAI" in recorded.metadata["x-aqueduct-user-agent"]
    assert len(recorded.metadata["x-request-id"]) == 32


async def test_legacy_completion(any_client: openai.AsyncOpenAI, fake_core: FakeCore) -> None:
    completion = await any_client.completions.create(model="gpt-test", prompt=[[1, 2, 3]], max_tokens=3)
    assert completion.object == "text_completion"
    assert completion.choices[0].text == " world"
    assert completion.usage is not None and completion.usage.total_tokens == 3
    assert fake_core.last.request.params.tokens_json == "[[1,2,3]]"
    assert fake_core.last.metadata["x-aqueduct-endpoint"] == "POST /v1/completions"


async def test_embeddings(any_client: openai.AsyncOpenAI, fake_core: FakeCore) -> None:
    # The SDK asks for base64 by default and decodes it itself.
    decoded = await any_client.embeddings.create(model="org/model-x", input=["a", "b"])
    floats = await any_client.embeddings.create(model="org/model-x", input="a", encoding_format="float")
    assert [d.embedding for d in decoded.data] == [[1.0, 2.0, 3.0]] * 2
    assert floats.data[0].embedding == [0.5, -0.25, 1e-07]
    assert floats.usage.prompt_tokens == 1
    assert fake_core.last.metadata["x-aqueduct-endpoint"] == "POST /v1/embeddings"


async def test_embeddings_base64_raw(http: httpx2.AsyncClient) -> None:
    response = await http.post("/v1/embeddings", json={"model": "m", "input": "x", "encoding_format": "base64"})
    body = response.json()
    assert body["object"] == "list" and body["data"][0]["object"] == "embedding"
    assert struct.unpack("<3f", base64.b64decode(body["data"][0]["embedding"])) == (1.0, 2.0, 3.0)
    assert body["usage"] == {"prompt_tokens": 1, "total_tokens": 1}


async def test_models(any_client: openai.AsyncOpenAI, fake_core: FakeCore) -> None:
    listed = [m.id async for m in any_client.models.list()]
    pages = [c.request.page_token for c in fake_core.calls if c.method == "ListModels"]
    one = await any_client.models.retrieve("org/model-x")
    with pytest.raises(openai.NotFoundError) as info:
        await any_client.models.retrieve("vendor/missing")
    assert listed == ["gpt-test", "org/model-x"]
    assert pages[-2:] == ["", "1"]  # one OpenAI list, every core page
    assert one.id == "org/model-x" and one.owned_by == "openai" and one.object == "model"
    assert info.value.code == "model_not_found"
    assert fake_core.last.request.id == "vendor/missing"
    assert fake_core.last.metadata["x-aqueduct-endpoint"] == "GET /v1/models/vendor/missing"


async def test_request_id_is_forwarded_and_echoed(http: httpx2.AsyncClient, fake_core: FakeCore) -> None:
    given = await http.post(
        "/chat/completions",
        json={"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]},
        headers={"x-request-id": "req-abc-123", "authorization": "Bearer sk-raw"},
    )
    fresh = await http.get("/v1/models")
    assert given.status_code == 200 and given.headers["x-request-id"] == "req-abc-123"
    assert given.headers["content-type"] == "application/json"
    recorded = fake_core.calls[0]
    assert recorded.metadata["x-request-id"] == "req-abc-123"
    assert recorded.metadata["authorization"] == "Bearer sk-raw"
    assert recorded.metadata["x-aqueduct-endpoint"] == "POST /v1/chat/completions"
    assert len(fresh.headers["x-request-id"]) == 32
    assert fake_core.last.metadata["x-request-id"] == fresh.headers["x-request-id"]


@pytest.mark.parametrize("path", ["/health", "/v1/health"])
async def test_health(http: httpx2.AsyncClient, path: str) -> None:
    response = await http.get(path)
    # A core without Redis (the fake registers no rate-limit health service) limits in-process.
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "details": {"rate_limits": "in-process"}}


async def test_health_without_core() -> None:
    probe = __import__("socket").socket()
    probe.bind(("127.0.0.1", 0))
    dead_target = f"127.0.0.1:{probe.getsockname()[1]}"
    probe.close()
    async for url in serve_facade(dead_target):
        async with httpx2.AsyncClient(base_url=url, verify=False) as http:
            response = await http.get("/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable" and body["error"]["type"] == "server_error"
