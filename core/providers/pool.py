"""One adapter per configured deployment, built at startup and closed at shutdown; the HTTP ones share one
aiohttp session (core.providers.http_session)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from core.provider_presets import OPENAI_COMPATIBLE_PRESETS
from core.providers.anthropic import AnthropicProvider
from core.providers.azure import AzureOpenAIProvider
from core.providers.base import Provider
from core.providers.hosted import HostedOpenAIProvider
from core.providers.http_session import HTTPPoolSettings, UpstreamSession
from core.providers.mock import MockProvider
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.routing.deployment import Deployment
from core.settings import OPENAI_COMPATIBLE_PROVIDERS, Settings


def build_provider(deployment: Deployment, session: UpstreamSession) -> Provider:
    """The adapter for the deployment's provider prefix; plain OpenAI-compatible upstreams get the base adapter
    itself, so their requests do nothing more than before the other providers existed."""
    provider = deployment.provider
    if provider == "mock":
        return MockProvider(deployment)
    if provider == "azure":
        return AzureOpenAIProvider(deployment, session)
    if provider == "anthropic":
        return AnthropicProvider(deployment, session)
    if provider in OPENAI_COMPATIBLE_PRESETS:
        return HostedOpenAIProvider(deployment, session)
    if provider in OPENAI_COMPATIBLE_PROVIDERS:
        return OpenAICompatibleProvider(deployment, session)
    # Settings validation rejects unknown prefixes, so reaching this is a programming error.
    raise ValueError(f"no adapter for provider {deployment.provider!r}")


def check_providers(deployments: Iterable[Deployment]) -> None:
    """Builds each deployment's adapter once, without connecting anywhere, so that a provider's configuration
    error (a missing Azure endpoint or key, an unusable api_base or TLS file) stops startup as a ConfigError
    naming the model, before any server starts."""
    session = UpstreamSession()
    for deployment in deployments:
        build_provider(deployment, session)


def pool_settings(settings: Settings) -> HTTPPoolSettings:
    """The upstream_* settings; each deployment's timeouts are its own (OpenAICompatibleProvider sets them)."""
    return HTTPPoolSettings(
        max_connections_per_host=settings.upstream_max_connections,
        keepalive_expiry_seconds=settings.upstream_keepalive_expiry_seconds,
    )


MAX_DERIVED_PROVIDERS = 1024


class ProviderPool:
    def __init__(
        self,
        providers: dict[str, Provider],
        session: UpstreamSession | None = None,
        deployments: dict[str, Deployment] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self._providers = providers
        self._session = session
        self._deployments = deployments or {}
        self._secrets = secrets
        # Adapters for the upstream models of wildcard pass-throughs (core.routing.wildcards), per
        # (deployment id, upstream model); bounded like the registry's cache of derived names.
        self._derived: dict[tuple[str, str], Provider] = {}

    @classmethod
    def build(cls, deployments: Iterable[Deployment], settings: Settings) -> ProviderPool:
        deployments = list(deployments)
        session = UpstreamSession(pool_settings(settings))
        providers = {d.id: build_provider(d, session) for d in deployments}
        http = [p for p in providers.values() if isinstance(p, OpenAICompatibleProvider)]
        # An upstream may echo any configured credential (a shared proxy knows several), so each scrubs them all.
        every = tuple(secret for p in http for secret in p.secrets)
        for provider in http:
            provider.scrub_also(every)
        return cls(providers, session, {d.id: d for d in deployments}, every)

    def get(self, deployment: Deployment) -> Provider:
        base = self._deployments.get(deployment.id)
        if base is deployment or base is None or base.upstream_model == deployment.upstream_model:
            return self._providers[deployment.id]
        return self._derived_provider(deployment)

    def _derived_provider(self, deployment: Deployment) -> Provider:
        key = (deployment.id, deployment.upstream_model)
        provider = self._derived.get(key)
        if provider is None:
            assert self._session is not None
            if len(self._derived) >= MAX_DERIVED_PROVIDERS:
                self._derived.clear()  # they hold no connections of their own: the session does
            provider = self._derived[key] = build_provider(deployment, self._session)
            if isinstance(provider, OpenAICompatibleProvider):
                provider.scrub_also(self._secrets)
        return provider

    async def aclose(self) -> None:
        await asyncio.gather(*(p.aclose() for p in self._providers.values()), return_exceptions=True)
        if self._session is not None:
            await self._session.aclose()
