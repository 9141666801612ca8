"""The provider prefixes of `litellm_params.model` beyond plain OpenAI, as data: each hosted API's default
`api_base`, the environment variables LiteLLM reads its key from, and whether it has an embeddings API.

A leaf module (it imports nothing of ours) so core.settings can validate prefixes with it and
core.providers.registry can pick the adapter. The URLs are defaults only: `api_base` in the config wins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class ProviderPreset:
    api_base: str | None  # None: the config must give one
    key_env: tuple[str, ...] = ()  # tried in order when litellm_params.api_key is not set
    embeddings: bool = True  # False: /v1/embeddings on this provider is a clear 400, not an upstream 404
    # Request keys the API refuses although OpenAI has them, left out (e.g. Mistral's 422 on stream_options; it
    # sends usage in its last chunk unasked), and keys it knows under another name.
    omit: tuple[str, ...] = ()
    rename: tuple[tuple[str, str], ...] = ()


# Upstreams that speak OpenAI's HTTP API at a known base URL (plain `openai/` and the self-hosted prefixes are
# core.settings' own list). Base URLs and key variables as the providers document them (and LiteLLM reads them).
OPENAI_COMPATIBLE_PRESETS: Final[dict[str, ProviderPreset]] = {
    # Google's OpenAI-compatible endpoint of the Gemini API (chat, streaming, embeddings).
    "gemini": ProviderPreset("https://generativelanguage.googleapis.com/v1beta/openai", ("GEMINI_API_KEY",)),
    # Ollama's OpenAI-compatible API under /v1 (an api_base without /v1 gets it, as LiteLLM configs give the
    # server's root).
    "ollama": ProviderPreset("http://localhost:11434/v1", ("OLLAMA_API_KEY",)),
    "ollama_chat": ProviderPreset("http://localhost:11434/v1", ("OLLAMA_API_KEY",)),
    "groq": ProviderPreset("https://api.groq.com/openai/v1", ("GROQ_API_KEY",), embeddings=False),
    "mistral": ProviderPreset(
        "https://api.mistral.ai/v1",
        ("MISTRAL_API_KEY",),
        omit=("stream_options",),
        rename=(("max_completion_tokens", "max_tokens"),),
    ),
    "deepseek": ProviderPreset("https://api.deepseek.com", ("DEEPSEEK_API_KEY",), embeddings=False),
    "together_ai": ProviderPreset(
        "https://api.together.xyz/v1", ("TOGETHERAI_API_KEY", "TOGETHER_AI_API_KEY", "TOGETHER_API_KEY")
    ),
    "fireworks_ai": ProviderPreset(
        "https://api.fireworks.ai/inference/v1", ("FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY")
    ),
    "openrouter": ProviderPreset("https://openrouter.ai/api/v1", ("OPENROUTER_API_KEY",)),
    "xai": ProviderPreset("https://api.x.ai/v1", ("XAI_API_KEY",)),
    "perplexity": ProviderPreset(
        "https://api.perplexity.ai", ("PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"), embeddings=False
    ),
}

# Upstreams with their own wire format, each with its own adapter (core.providers.azure, core.providers.anthropic).
TRANSLATING_PRESETS: Final[dict[str, ProviderPreset]] = {
    # The resource endpoint (https://NAME.openai.azure.com) has no default; AZURE_API_BASE may give it.
    "azure": ProviderPreset(None, ("AZURE_API_KEY", "AZURE_OPENAI_API_KEY")),
    "anthropic": ProviderPreset("https://api.anthropic.com", ("ANTHROPIC_API_KEY",), embeddings=False),
}

HOSTED_APIS: Final = frozenset(OPENAI_COMPATIBLE_PRESETS)

PRESETS: Final[dict[str, ProviderPreset]] = {**OPENAI_COMPATIBLE_PRESETS, **TRANSLATING_PRESETS}

PRESET_API_BASES: Final[dict[str, str]] = {
    name: preset.api_base for name, preset in OPENAI_COMPATIBLE_PRESETS.items() if preset.api_base
}
