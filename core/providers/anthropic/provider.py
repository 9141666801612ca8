"""Anthropic's Messages API (`anthropic/<model>`): `POST {api_base}/v1/messages` with `x-api-key` and
`anthropic-version` headers (api_base: config, else ANTHROPIC_API_BASE, else Anthropic's; the key: config, else
ANTHROPIC_API_KEY). The transport (pooled aiohttp session, timeouts, proxies, TLS, scrubbing) is the
OpenAI-compatible adapter's; the bodies, the stream events and the errors are translated (this package)."""

from __future__ import annotations

import dataclasses
import os
from typing import Final

import aiohttp
from yarl import URL

from core.errors import InvalidRequest
from core.provider_presets import PRESETS
from core.providers.anthropic.errors import error_from_response
from core.providers.anthropic.request import to_messages_request
from core.providers.anthropic.response import to_chat_completion
from core.providers.anthropic.stream import AnthropicEventStream
from core.providers.base import JSONObject, UpstreamStream
from core.providers.endpoint import Endpoint
from core.providers.hosted import api_key_of
from core.providers.http_session import UpstreamSession
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.upstream_errors import redirect_error
from core.routing.deployment import Deployment
from core.settings import ConfigError

# The API version header every request carries (the current and only stable one of the Messages API).
ANTHROPIC_VERSION: Final = "2023-06-01"
# max_tokens when neither the request nor the config gives one (the Messages API requires it; LiteLLM's default).
DEFAULT_MAX_TOKENS: Final = 4096
_MESSAGES: Final = "/messages"


class AnthropicProvider(OpenAICompatibleProvider):
    PATHS = (_MESSAGES,)

    def __init__(self, deployment: Deployment, session: UpstreamSession | None = None) -> None:
        key = api_key_of(deployment, PRESETS["anthropic"])
        if not key:
            raise ConfigError(
                f"model {deployment.model_name!r}: anthropic/ needs litellm_params.api_key or ANTHROPIC_API_KEY"
            )
        api_base = deployment.api_base or os.environ.get("ANTHROPIC_API_BASE") or PRESETS["anthropic"].api_base
        super().__init__(dataclasses.replace(deployment, api_key=key, api_base=api_base), session)
        self._max_tokens = default_max_tokens(deployment)
        self._drop_params = deployment.drop_params

    def _url_of(self, endpoint: Endpoint, path: str) -> URL:
        # api_base may be the host (LiteLLM's default form), end in /v1, or be the full messages URL.
        base = str(endpoint.base_url)
        if base.endswith("/v1/messages"):
            return URL(base)
        return URL(base.removesuffix("/v1") + "/v1" + path)

    def _credentials(self, deployment: Deployment, endpoint: Endpoint) -> dict[str, str]:
        assert deployment.api_key is not None  # checked in __init__
        return {"x-api-key": deployment.api_key, "anthropic-version": ANTHROPIC_VERSION}

    def _request(self, body: JSONObject) -> JSONObject:
        return to_messages_request(
            body,
            model=self._upstream_model,
            max_tokens=self._max_tokens,
            drop_params=self._drop_params,
            public=self._deployment.model_name,
        )

    async def chat_completion(self, body: JSONObject, *, request_id: str) -> JSONObject:
        request = self._request({**body, "stream": False})
        return to_chat_completion(await self._post_json(_MESSAGES, request, request_id))

    async def stream_chat_completion(self, body: JSONObject, *, request_id: str) -> UpstreamStream:
        return await self._open_stream(_MESSAGES, self._request({**body, "stream": True}), request_id)

    async def completion(self, body: JSONObject, *, request_id: str) -> JSONObject:
        raise self._unsupported("the legacy completions endpoint (use /v1/chat/completions)")

    async def stream_completion(self, body: JSONObject, *, request_id: str) -> UpstreamStream:
        raise self._unsupported("the legacy completions endpoint (use /v1/chat/completions)")

    async def embeddings(self, body: JSONObject, *, request_id: str) -> JSONObject:
        raise self._unsupported("embeddings (Anthropic has no embeddings API)")

    def _unsupported(self, what: str) -> InvalidRequest:
        return InvalidRequest(f"The model `{self._deployment.model_name}` (Anthropic) does not support {what}.")

    def _event_stream(self, response: aiohttp.ClientResponse) -> UpstreamStream:
        return AnthropicEventStream(response, self._deployment.model_name, self._where, self._scrub)

    def _status_error(self, response: aiohttp.ClientResponse, body: bytes) -> Exception:
        if response.status < 400:
            return redirect_error(response.status, response.headers.get("location"), self._scrub)
        return error_from_response(response.status, body, response.headers, self._scrub, self._deployment.model_name)


def default_max_tokens(deployment: Deployment) -> int:
    """The output bound sent when the request has none: litellm_params.max_tokens, else model_info's
    max_output_tokens or max_tokens, else DEFAULT_MAX_TOKENS."""
    params = deployment.config.litellm_params.model_dump()
    info = deployment.config.model_info.model_dump()
    for value in (params.get("max_tokens"), info.get("max_output_tokens"), info.get("max_tokens")):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return DEFAULT_MAX_TOKENS
