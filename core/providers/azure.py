"""Azure OpenAI (`azure/<deployment>`): OpenAI's bodies, with the deployment in the path and the API version
in the query, `POST {api_base}/openai/deployments/{deployment}/chat/completions?api-version=...`, and either an
`api-key` header or a Microsoft Entra ID token as `Authorization: Bearer`. `api_version: v1` (or `preview`)
selects Azure's versionless v1 API, `{api_base}/openai/v1/chat/completions`, where the body names the deployment.

Every value is resolved once at start-up, config first, then LiteLLM's environment variables: api_base from
AZURE_API_BASE, api_version from AZURE_API_VERSION (else DEFAULT_API_VERSION), the key from AZURE_API_KEY and the
Entra ID token (litellm_params.azure_ad_token) from AZURE_AD_TOKEN. With both a key and a token, the key is sent."""

from __future__ import annotations

import dataclasses
import os
from typing import Final
from urllib.parse import quote

from yarl import URL

from core.provider_presets import PRESETS
from core.providers.endpoint import Endpoint, endpoint_of
from core.providers.hosted import api_key_of
from core.providers.http_session import UpstreamSession
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.routing.deployment import Deployment
from core.settings import ConfigError

# The latest GA data-plane inference version when this adapter was written (Azure OpenAI REST reference).
DEFAULT_API_VERSION: Final = "2024-10-21"
_V1_VERSIONS: Final = frozenset({"v1", "preview", "latest"})


class AzureOpenAIProvider(OpenAICompatibleProvider):
    def __init__(self, deployment: Deployment, session: UpstreamSession | None = None) -> None:
        params = deployment.config.litellm_params
        self._api_version = params.api_version or os.environ.get("AZURE_API_VERSION") or DEFAULT_API_VERSION
        self._ad_token = params.azure_ad_token or os.environ.get("AZURE_AD_TOKEN") or None
        api_base = deployment.api_base or os.environ.get("AZURE_API_BASE")
        if not api_base:
            raise ConfigError(
                f"model {deployment.model_name!r}: azure/ needs litellm_params.api_base (the resource endpoint, "
                "https://NAME.openai.azure.com) or AZURE_API_BASE"
            )
        key = api_key_of(deployment, PRESETS["azure"])
        if not key and not self._ad_token:
            raise ConfigError(
                f"model {deployment.model_name!r}: azure/ needs litellm_params.api_key (or AZURE_API_KEY) or an "
                "Entra ID token in litellm_params.azure_ad_token (or AZURE_AD_TOKEN)"
            )
        self._azure_deployment = deployment.upstream_model
        super().__init__(dataclasses.replace(deployment, api_base=api_base, api_key=key), session)

    def _endpoint_of(self, deployment: Deployment) -> Endpoint:
        endpoint = endpoint_of(deployment)
        # LiteLLM configs sometimes give the endpoint with /openai already on it.
        base = str(endpoint.base_url).rstrip("/").removesuffix("/openai")
        return dataclasses.replace(endpoint, base_url=URL(base))

    def _url_of(self, endpoint: Endpoint, path: str) -> URL:
        base = str(endpoint.base_url)
        if self._api_version in _V1_VERSIONS:
            query = "?api-version=preview" if self._api_version == "preview" else ""
            return URL(f"{base}/openai/v1{path}{query}")
        deployment = quote(self._azure_deployment, safe="")
        return URL(f"{base}/openai/deployments/{deployment}{path}?api-version={quote(self._api_version)}")

    def _credentials(self, deployment: Deployment, endpoint: Endpoint) -> dict[str, str]:
        if deployment.api_key:
            return {"api-key": deployment.api_key}
        assert self._ad_token is not None  # checked in __init__
        return {"authorization": f"Bearer {self._ad_token}"}
