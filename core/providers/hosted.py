"""Hosted APIs that speak OpenAI's protocol at a known base URL (gemini/, ollama/, groq/, mistral/, deepseek/,
together_ai/, fireworks_ai/, openrouter/, xai/, perplexity/): the OpenAI-compatible adapter with the preset's
defaults (core.provider_presets) applied once at start-up, so a request costs what a plain `openai/` one does."""

from __future__ import annotations

import dataclasses
import os

from yarl import URL

from core.errors import InvalidRequest
from core.provider_presets import PRESETS, ProviderPreset
from core.providers.base import JSONObject
from core.providers.endpoint import Endpoint, endpoint_of
from core.providers.http_session import UpstreamSession
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.routing.deployment import Deployment

# Fireworks names its models by account path; LiteLLM accepts the short name and adds this.
_FIREWORKS_MODELS = "accounts/fireworks/models/"


def api_key_of(deployment: Deployment, preset: ProviderPreset) -> str | None:
    """litellm_params.api_key, else the first of the provider's environment variables that is set (read at
    start-up, as LiteLLM does)."""
    if deployment.api_key:
        return deployment.api_key
    return next((os.environ[name] for name in preset.key_env if os.environ.get(name)), None)


class HostedOpenAIProvider(OpenAICompatibleProvider):
    def __init__(self, deployment: Deployment, session: UpstreamSession | None = None) -> None:
        self._preset = PRESETS[deployment.provider]
        deployment = dataclasses.replace(deployment, api_key=api_key_of(deployment, self._preset))
        super().__init__(deployment, session)
        self._upstream_model = _upstream_model(deployment)

    def _payload(self, body: JSONObject) -> bytes:
        preset = self._preset
        if not (preset.omit or preset.rename):
            return super()._payload(body)
        body = {k: v for k, v in body.items() if k not in preset.omit}
        for old, new in preset.rename:
            if old in body:
                value = body.pop(old)
                body.setdefault(new, value)
        return super()._payload(body)

    def _endpoint_of(self, deployment: Deployment) -> Endpoint:
        endpoint = endpoint_of(deployment)
        if deployment.provider in ("ollama", "ollama_chat") and not endpoint.base_url.path.rstrip("/").endswith("/v1"):
            # LiteLLM configs give Ollama's root (http://host:11434); its OpenAI-compatible API is under /v1.
            return dataclasses.replace(endpoint, base_url=URL(str(endpoint.base_url).rstrip("/") + "/v1"))
        return endpoint

    async def embeddings(self, body: JSONObject, *, request_id: str) -> JSONObject:
        if not self._preset.embeddings:
            raise InvalidRequest(
                f"The model `{self._deployment.model_name}` ({self._deployment.provider}) has no embeddings API.",
                field="model",
            )
        return await super().embeddings(body, request_id=request_id)


def _upstream_model(deployment: Deployment) -> str:
    model = deployment.upstream_model
    if deployment.provider == "fireworks_ai" and "/" not in model:
        return _FIREWORKS_MODELS + model
    return model
