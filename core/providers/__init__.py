"""Upstream adapters behind one Protocol (OpenAI-compatible HTTP and the built-in demo mock)."""

from core.providers.base import JSONObject, Provider, ProviderLookup, UpstreamStream
from core.providers.mock import MockProvider
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.pool import ProviderPool, build_provider, check_providers

__all__ = [
    "JSONObject",
    "MockProvider",
    "OpenAICompatibleProvider",
    "Provider",
    "ProviderLookup",
    "ProviderPool",
    "UpstreamStream",
    "build_provider",
    "check_providers",
]
