"""One adapter per configured deployment, built at startup and closed at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from core.providers.base import Provider
from core.providers.mock import MockProvider
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.routing.deployment import Deployment
from core.settings import OPENAI_COMPATIBLE_PROVIDERS, Settings
from core.upstream_http import UpstreamHTTPSettings


def build_provider(deployment: Deployment, pool: UpstreamHTTPSettings) -> Provider:
    if deployment.provider == "mock":
        return MockProvider(deployment)
    if deployment.provider in OPENAI_COMPATIBLE_PROVIDERS:
        return OpenAICompatibleProvider(deployment, pool)
    # Settings validation rejects unknown prefixes, so reaching this is a programming error.
    raise ValueError(f"no adapter for provider {deployment.provider!r}")


def pool_settings(settings: Settings) -> UpstreamHTTPSettings:
    """Each deployment has its own pool (one upstream origin), bounded by the upstream_* settings; its
    timeouts are the deployment's (OpenAICompatibleProvider sets them)."""
    return UpstreamHTTPSettings(
        max_connections_per_origin=settings.upstream_max_connections,
        max_idle_per_origin=settings.upstream_max_keepalive_connections,
        keepalive_expiry_seconds=settings.upstream_keepalive_expiry_seconds,
    )


class ProviderPool:
    def __init__(self, providers: dict[str, Provider]) -> None:
        self._providers = providers

    @classmethod
    def build(cls, deployments: Iterable[Deployment], settings: Settings) -> ProviderPool:
        pool = pool_settings(settings)
        return cls({d.id: build_provider(d, pool) for d in deployments})

    def get(self, deployment: Deployment) -> Provider:
        return self._providers[deployment.id]

    async def aclose(self) -> None:
        await asyncio.gather(*(p.aclose() for p in self._providers.values()), return_exceptions=True)
