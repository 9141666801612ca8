"""azure/ models through the OpenAI SDK, the façade and core, against a loopback Azure OpenAI that checks the
REST reference's wire format (tests/support/fake_openai_dialects.py): the deployment in the path, api-version
in the query, the `api-key` header or an Entra ID bearer token, and Azure's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from core.providers.azure import DEFAULT_API_VERSION
from tests.integration.providers.providers_harness import serving, settings, through_gateway
from tests.support.fake_openai_dialects import FakeAzureOpenAI

KEY = "azure-key-0123456789abcdef"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra-token"
MESSAGES: Any = [{"role": "user", "content": "hi"}]


def entry(api_base: str, deployment: str = "gpt-4o-prod", **params: Any) -> dict[str, Any]:
    return {"model_name": "gpt-4o", "litellm_params": {"model": f"azure/{deployment}", "api_base": api_base, **params}}


@pytest.fixture
async def azure() -> AsyncIterator[tuple[FakeAzureOpenAI, str]]:
    fake = FakeAzureOpenAI(("gpt-4o-prod", "embed-prod"), api_key=KEY, ad_token=TOKEN)
    async with serving(fake) as url:
        yield fake, url


async def test_chat_and_stream_use_the_deployment_path_api_version_and_api_key(
    azure: tuple[FakeAzureOpenAI, str],
) -> None:
    fake, url = azure
    async with through_gateway(settings(entry(url, api_key=KEY))) as s:
        result = await s.client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        stream = await s.client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        chunks = [chunk async for chunk in stream]
    assert result.choices[0].message.content
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    for seen in fake.seen:
        assert seen.path == "/openai/deployments/gpt-4o-prod/chat/completions"
        assert seen.query == {"api-version": [DEFAULT_API_VERSION]}
        assert seen.headers["api-key"] == KEY and "authorization" not in seen.headers
    assert fake.seen[1].body["stream"] is True


async def test_an_entra_id_token_from_the_environment_is_a_bearer(
    azure: tuple[FakeAzureOpenAI, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = azure
    monkeypatch.setenv("AZURE_AD_TOKEN", TOKEN)
    monkeypatch.setenv("AZURE_API_VERSION", "2024-06-01")
    async with through_gateway(settings(entry(url))) as s:
        await s.client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    seen = fake.seen[-1]
    assert seen.headers["authorization"] == f"Bearer {TOKEN}" and "api-key" not in seen.headers
    assert seen.query == {"api-version": ["2024-06-01"]}


async def test_config_token_api_version_and_an_api_base_ending_in_openai(azure: tuple[FakeAzureOpenAI, str]) -> None:
    fake, url = azure
    config = settings(entry(url + "/openai/", azure_ad_token=TOKEN, api_version="2025-04-01-preview"))
    async with through_gateway(config) as s:
        await s.client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    seen = fake.seen[-1]
    assert seen.path == "/openai/deployments/gpt-4o-prod/chat/completions"
    assert seen.query == {"api-version": ["2025-04-01-preview"]}
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"


async def test_the_v1_api_names_the_deployment_in_the_body(azure: tuple[FakeAzureOpenAI, str]) -> None:
    fake, url = azure
    async with through_gateway(settings(entry(url, api_key=KEY, api_version="v1"))) as s:
        await s.client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    seen = fake.seen[-1]
    assert seen.path == "/openai/v1/chat/completions" and seen.query == {}
    assert seen.body["model"] == "gpt-4o-prod"


async def test_embeddings(azure: tuple[FakeAzureOpenAI, str]) -> None:
    fake, url = azure
    embed = {**entry(url, "embed-prod", api_key=KEY), "model_name": "embed", "model_info": {"mode": "embedding"}}
    async with through_gateway(settings(embed)) as s:
        result = await s.client.embeddings.create(model="embed", input=["a", "b"], encoding_format="float")
    assert len(result.data) == 2 and len(result.data[0].embedding) == 4
    assert fake.seen[-1].path == "/openai/deployments/embed-prod/embeddings"


async def test_rate_limit_keeps_429_and_retry_after(azure: tuple[FakeAzureOpenAI, str]) -> None:
    fake, url = azure
    fake.fail_next(
        429,
        "429",
        "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded "
        "token rate limit of your current OpenAI S0 pricing tier. Please retry after 12 seconds.",
        retry_after="12",
    )
    async with through_gateway(settings(entry(url, api_key=KEY))) as s:
        with pytest.raises(openai.RateLimitError) as info:
            await s.client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert info.value.response.headers["retry-after"] == "12"
    body: Any = info.value.body
    assert "exceeded token rate limit" in body["message"] and body["type"] == "rate_limit_error"


async def test_unknown_deployment_is_a_404_and_a_wrong_key_a_502(azure: tuple[FakeAzureOpenAI, str]) -> None:
    _, url = azure
    config = settings(
        entry(url, "gpt-missing", api_key=KEY), {**entry(url, api_key="wrong-key-42"), "model_name": "bad"}
    )
    async with through_gateway(config) as s:
        with pytest.raises(openai.NotFoundError) as missing:
            await s.client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        with pytest.raises(openai.APIStatusError) as refused:
            await s.client.chat.completions.create(model="bad", messages=MESSAGES, stream=True)
    assert "deployment for this resource does not exist" in str(missing.value.body)
    assert refused.value.status_code == 502 and "wrong-key-42" not in str(refused.value.body)
