"""The hosted OpenAI-compatible presets (gemini/, ollama/, groq/, mistral/, deepseek/, together_ai/,
fireworks_ai/, openrouter/, xai/, perplexity/) through the OpenAI SDK, the façade and core, each against a
loopback stand-in serving the provider's own path layout under api_base and checking its bearer key (from the
provider's environment variable, as LiteLLM reads it), with the provider's error shape (Google's list for
Gemini)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from tests.integration.providers.providers_harness import Setup, serving, settings, through_gateway
from tests.support.fake_openai_dialects import FakeHostedOpenAI

MESSAGES: Any = [{"role": "user", "content": "hi"}]


@dataclass(frozen=True)
class Case:
    provider: str
    prefix: str  # the path under the host that the provider serves its OpenAI-compatible API at
    key_env: str | None  # None: no key (Ollama)
    model: str = "some-model"
    upstream_model: str | None = None  # what the upstream must receive, when not `model`
    api_base_path: str | None = None  # api_base's path when it differs from `prefix` (Ollama's root)
    google_errors: bool = False
    forbidden: tuple[str, ...] = ()  # OpenAI keys the provider refuses (422)


CASES = [
    Case("gemini", "/v1beta/openai", "GEMINI_API_KEY", "gemini-2.0-flash", google_errors=True),
    Case("ollama", "/v1", None, "llama3.2", api_base_path=""),
    Case("groq", "/openai/v1", "GROQ_API_KEY", "llama-3.3-70b-versatile"),
    Case(
        "mistral",
        "/v1",
        "MISTRAL_API_KEY",
        "mistral-small-latest",
        forbidden=("stream_options", "max_completion_tokens"),
    ),
    Case("deepseek", "", "DEEPSEEK_API_KEY", "deepseek-chat"),
    Case("together_ai", "/v1", "TOGETHERAI_API_KEY", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    Case(
        "fireworks_ai",
        "/inference/v1",
        "FIREWORKS_AI_API_KEY",
        "llama-v3p1-8b-instruct",
        upstream_model="accounts/fireworks/models/llama-v3p1-8b-instruct",
    ),
    Case("openrouter", "/api/v1", "OPENROUTER_API_KEY", "anthropic/claude-3.5-sonnet"),
    Case("xai", "/v1", "XAI_API_KEY", "grok-3"),
    Case("perplexity", "", "PERPLEXITYAI_API_KEY", "sonar"),
]


@pytest.fixture(params=CASES, ids=[c.provider for c in CASES])
async def hosted(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Case, FakeHostedOpenAI, Setup]]:
    case: Case = request.param
    key = f"key-for-{case.provider}-0123456789" if case.key_env else None
    if case.key_env and key:
        monkeypatch.setenv(case.key_env, key)
    fake = FakeHostedOpenAI(case.prefix, key, google_errors=case.google_errors, forbidden=case.forbidden)
    async with serving(fake) as url:
        path = case.prefix if case.api_base_path is None else case.api_base_path
        entry = {
            "model_name": "m",
            "litellm_params": {"model": f"{case.provider}/{case.model}", "api_base": url + path},
        }
        async with through_gateway(settings(entry)) as s:
            yield case, fake, s


async def test_chat_stream_and_a_rate_limit(hosted: tuple[Case, FakeHostedOpenAI, Setup]) -> None:
    case, fake, s = hosted
    result = await s.client.chat.completions.create(model="m", messages=MESSAGES)
    assert result.choices[0].message.content
    stream = await s.client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}, max_completion_tokens=50
    )
    assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    for seen in fake.seen:
        assert seen.path == case.prefix + "/chat/completions"
        assert seen.body["model"] == (case.upstream_model or case.model)
        if case.forbidden:
            assert not set(case.forbidden) & set(seen.body)
        if case.key_env is None:
            assert "authorization" not in seen.headers
    streamed = fake.seen[1].body
    assert streamed.get("max_completion_tokens", streamed.get("max_tokens")) == 50
    fake.fail_next(429, "Resource has been exhausted (e.g. check quota).", retry_after="9")
    with pytest.raises(openai.RateLimitError) as info:
        await s.client.chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.response.headers["retry-after"] == "9"
    body: Any = info.value.body
    assert body["message"] == "Resource has been exhausted (e.g. check quota)."


async def test_gemini_embeddings_and_errors_in_googles_list_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-key-0123456789")
    fake = FakeHostedOpenAI("/v1beta/openai", "gemini-key-0123456789", google_errors=True)
    async with serving(fake) as url:
        entry = {
            "model_name": "embed",
            "litellm_params": {"model": "gemini/gemini-embedding-001", "api_base": url + "/v1beta/openai/"},
            "model_info": {"mode": "embedding"},
        }
        async with through_gateway(settings(entry)) as s:
            result = await s.client.embeddings.create(model="embed", input="hello", encoding_format="float")
            fake.fail_next(400, "* GenerateContentRequest.contents: contents is not specified")
            with pytest.raises(openai.BadRequestError) as info:
                await s.client.embeddings.create(model="embed", input="hello")
    assert len(result.data[0].embedding) == 4
    assert fake.seen[0].path == "/v1beta/openai/embeddings"
    body: Any = info.value.body
    assert body["message"] == "* GenerateContentRequest.contents: contents is not specified"


async def test_embeddings_on_a_provider_without_them_is_a_clear_400(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_API_KEY", "groq-key-0123456789")
    fake = FakeHostedOpenAI("/openai/v1", "groq-key-0123456789")
    async with serving(fake) as url:
        entry = {
            "model_name": "embed",
            "litellm_params": {"model": "groq/some-model", "api_base": url + "/openai/v1"},
            "model_info": {"mode": "embedding"},
        }
        async with through_gateway(settings(entry)) as s:
            with pytest.raises(openai.BadRequestError) as info:
                await s.client.embeddings.create(model="embed", input="hello")
    body: Any = info.value.body
    assert body["message"] == "The model `embed` (groq) has no embeddings API." and body["param"] == "model"
    assert fake.seen == []
