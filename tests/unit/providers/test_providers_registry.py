"""Which adapter each `litellm_params.model` prefix gets, with what URL, headers and credentials: resolved at
start-up from the config and LiteLLM's environment variables (nothing is sent here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.providers.anthropic import DEFAULT_MAX_TOKENS, AnthropicProvider
from core.providers.azure import DEFAULT_API_VERSION, AzureOpenAIProvider
from core.providers.base import Provider
from core.providers.hosted import HostedOpenAIProvider
from core.providers.http_session import UpstreamSession
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.pool import build_provider
from core.routing.deployment import Deployment
from core.settings import ConfigError, Settings, load_settings

PRESET_URLS = {
    "gemini": "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
    "groq": "https://api.groq.com/openai/v1/chat/completions",
    "mistral": "https://api.mistral.ai/v1/chat/completions",
    "deepseek": "https://api.deepseek.com/chat/completions",
    "together_ai": "https://api.together.xyz/v1/chat/completions",
    "fireworks_ai": "https://api.fireworks.ai/inference/v1/chat/completions",
    "openrouter": "https://openrouter.ai/api/v1/chat/completions",
    "xai": "https://api.x.ai/v1/chat/completions",
    "perplexity": "https://api.perplexity.ai/chat/completions",
    "ollama": "http://localhost:11434/v1/chat/completions",
}


def deployment(model: str, global_drop: bool = False, **params: Any) -> Deployment:
    info = params.pop("model_info", {})
    entry = {"model_name": "m", "litellm_params": {"model": model, **params}, "model_info": info}
    settings = Settings.model_validate({"model_list": [entry], "drop_params": global_drop})
    return Deployment.from_config(0, settings.model_list[0], settings)


def build(model: str, **params: Any) -> Provider:
    return build_provider(deployment(model, **params), UpstreamSession())


def headers(provider: Provider) -> dict[str, str]:
    assert isinstance(provider, OpenAICompatibleProvider)
    return dict(provider._json_headers)


def url(provider: Provider, path: str = "/chat/completions") -> str:
    assert isinstance(provider, OpenAICompatibleProvider)
    return str(provider._urls[path])


@pytest.mark.parametrize("provider", sorted(PRESET_URLS))
def test_presets_default_to_the_providers_documented_base_url(provider: str) -> None:
    built = build(f"{provider}/x", api_key="key-123456")
    assert type(built) is HostedOpenAIProvider
    assert url(built) == PRESET_URLS[provider]
    assert headers(built)["authorization"] == "Bearer key-123456"


def test_plain_openai_prefixes_keep_the_base_adapter() -> None:
    for model in ("openai/gpt-4o", "gpt-4o", "hosted_vllm/m", "vllm/m", "openai_compatible/m"):
        assert type(build(model, api_base="http://127.0.0.1:9/v1")) is OpenAICompatibleProvider


def test_a_preset_key_comes_from_the_providers_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGETHER_API_KEY", "together-env-key")
    built = build("together_ai/m")
    assert headers(built)["authorization"] == "Bearer together-env-key"
    assert "together-env-key" in built.secrets  # type: ignore[attr-defined]
    monkeypatch.setenv("TOGETHERAI_API_KEY", "first-env-key")
    assert headers(build("together_ai/m"))["authorization"] == "Bearer first-env-key"
    assert headers(build("together_ai/m", api_key="config-key"))["authorization"] == "Bearer config-key"


def test_ollama_gets_v1_added_to_a_root_api_base_and_sends_no_key() -> None:
    built = build("ollama/llama3", api_base="http://gpu-box:11434")
    assert url(built) == "http://gpu-box:11434/v1/chat/completions"
    assert (
        url(build("ollama_chat/llama3", api_base="http://gpu-box:11434/v1/"))
        == "http://gpu-box:11434/v1/chat/completions"
    )
    assert "authorization" not in headers(built)


def test_azure_url_headers_and_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    built = build("azure/my-gpt", api_base="https://res.openai.azure.com/", api_key="az-key-123456")
    assert type(built) is AzureOpenAIProvider
    assert url(built) == (
        f"https://res.openai.azure.com/openai/deployments/my-gpt/chat/completions?api-version={DEFAULT_API_VERSION}"
    )
    assert url(built, "/embeddings").startswith("https://res.openai.azure.com/openai/deployments/my-gpt/embeddings?")
    assert headers(built)["api-key"] == "az-key-123456" and "authorization" not in headers(built)
    monkeypatch.setenv("AZURE_API_BASE", "https://env-res.openai.azure.com")
    monkeypatch.setenv("AZURE_API_KEY", "az-env-key-123456")
    from_env = build("azure/dep", api_version="2024-02-01")
    assert (
        url(from_env)
        == "https://env-res.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-02-01"
    )
    assert headers(from_env)["api-key"] == "az-env-key-123456"


def test_azure_without_endpoint_or_credentials_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_API_BASE", "AZURE_API_KEY", "AZURE_OPENAI_API_KEY", "AZURE_AD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="api_base"):
        build("azure/dep", api_key="k")
    with pytest.raises(ConfigError, match="azure_ad_token"):
        build("azure/dep", api_base="https://res.openai.azure.com")


def test_anthropic_url_headers_and_max_tokens_default(monkeypatch: pytest.MonkeyPatch) -> None:
    built = build("anthropic/claude", api_key="sk-ant-123456")
    assert type(built) is AnthropicProvider
    assert url(built, "/messages") == "https://api.anthropic.com/v1/messages"
    assert headers(built)["x-api-key"] == "sk-ant-123456" and headers(built)["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers(built)
    assert built._max_tokens == DEFAULT_MAX_TOKENS
    for base in ("https://proxy.example/v1", "https://proxy.example/v1/messages", "https://proxy.example"):
        assert url(build("anthropic/c", api_key="k", api_base=base), "/messages") == "https://proxy.example/v1/messages"
    assert build("anthropic/c", api_key="k", max_tokens=99)._max_tokens == 99  # type: ignore[attr-defined]
    assert build("anthropic/c", api_key="k", model_info={"max_tokens": 77})._max_tokens == 77  # type: ignore[attr-defined]
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        build("anthropic/c")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env-123456")
    assert headers(build("anthropic/c"))["x-api-key"] == "sk-ant-env-123456"


def test_drop_params_per_deployment_overrides_the_global_setting() -> None:
    assert deployment("anthropic/c", global_drop=True).drop_params is True
    assert deployment("anthropic/c", global_drop=True, drop_params=False).drop_params is False
    assert deployment("anthropic/c", drop_params=True).drop_params is True
    assert deployment("anthropic/c").drop_params is False


def test_a_config_with_every_prefix_loads(tmp_path: Path) -> None:
    prefixes = ["azure", "anthropic", *PRESET_URLS]
    lines = ["model_list:"]
    for prefix in prefixes:
        lines += [f"  - model_name: {prefix}-model", "    litellm_params:", f"      model: {prefix}/x"]
    config = tmp_path / "config.yaml"
    config.write_text("\n".join(lines) + "\n")
    loaded = load_settings(config)
    assert [d.litellm_params.provider for d in loaded.model_list] == prefixes
