"""Adapter for upstreams that speak the OpenAI HTTP API (OpenAI, vLLM, llama.cpp, TGI, LM Studio, ...)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2
import orjson

from core.errors import UpstreamTimeout
from core.providers.base import JSONObject, UpstreamStream
from core.providers.sse import SSEDecoder, SSEError
from core.providers.upstream_errors import (
    MAX_ERROR_BODY_BYTES,
    error_from_event,
    error_from_status,
    error_from_transport,
    malformed,
)
from core.request_context import REQUEST_ID
from core.routing.deployment import Deployment
from core.settings import DEFAULT_API_BASES

_JSON = "application/json"


class OpenAICompatibleProvider:
    """One pooled keep-alive HTTP client per deployment. The upstream only ever sees the deployment's own
    key (and the operator's litellm_params.extra_headers): nothing from the caller's request headers is
    forwarded except x-request-id."""

    def __init__(
        self,
        deployment: Deployment,
        limits: httpx2.Limits,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        base_url = deployment.api_base or DEFAULT_API_BASES[deployment.provider]
        # The operator's static extra headers first, so they can never replace the protocol or auth headers.
        headers = {**dict(deployment.extra_headers), "content-type": _JSON, "accept": _JSON}
        if deployment.api_key:
            headers["authorization"] = f"Bearer {deployment.api_key}"
        self._deployment = deployment
        self._secrets = (deployment.api_key,)
        # read = the longest silence allowed: the whole request for JSON calls, the chunk gap for streams.
        self._json_timeout = httpx2.Timeout(deployment.timeout_seconds, connect=deployment.connect_timeout_seconds)
        self._stream_timeout = httpx2.Timeout(
            deployment.timeout_seconds,
            connect=deployment.connect_timeout_seconds,
            read=deployment.stream_timeout_seconds,
        )
        self._client = httpx2.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            limits=limits,
            timeout=self._json_timeout,
            transport=transport,
            follow_redirects=False,
            # Proxy variables are for the operator's shell, not for gateway-to-upstream traffic.
            trust_env=False,
        )

    async def chat_completion(self, body: JSONObject, *, request_id: str) -> JSONObject:
        return await self._post_json("/chat/completions", body, request_id)

    async def stream_chat_completion(self, body: JSONObject, *, request_id: str) -> UpstreamStream:
        return await self._open_stream("/chat/completions", body, request_id)

    async def completion(self, body: JSONObject, *, request_id: str) -> JSONObject:
        return await self._post_json("/completions", body, request_id)

    async def stream_completion(self, body: JSONObject, *, request_id: str) -> UpstreamStream:
        return await self._open_stream("/completions", body, request_id)

    async def embeddings(self, body: JSONObject, *, request_id: str) -> JSONObject:
        return await self._post_json("/embeddings", body, request_id)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _payload(self, body: JSONObject) -> bytes:
        return orjson.dumps({**body, "model": self._deployment.upstream_model})

    async def _post_json(self, path: str, body: JSONObject, request_id: str) -> JSONObject:
        payload = self._payload(body)
        try:
            # httpx2's timeouts bound each phase; this bounds the whole request as documented.
            async with asyncio.timeout(self._deployment.timeout_seconds):
                response = await self._client.post(path, content=payload, headers={REQUEST_ID: request_id})
        except TimeoutError:
            raise UpstreamTimeout(f"The upstream for model `{self._deployment.model_name}` timed out.") from None
        except httpx2.HTTPError as exc:
            raise error_from_transport(exc, self._deployment.model_name) from None
        if not response.is_success:
            raise error_from_status(response.status_code, response.content, response.headers, self._secrets)
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise malformed("JSON response") from None
        if not isinstance(data, dict):
            raise malformed("JSON response")
        return data

    async def _open_stream(self, path: str, body: JSONObject, request_id: str) -> UpstreamStream:
        request = self._client.build_request(
            "POST",
            path,
            content=self._payload(body),
            headers={REQUEST_ID: request_id, "accept": "text/event-stream"},
            timeout=self._stream_timeout,
        )
        try:
            async with asyncio.timeout(self._deployment.timeout_seconds):
                response = await self._client.send(request, stream=True)
        except TimeoutError:
            raise UpstreamTimeout(f"The upstream for model `{self._deployment.model_name}` timed out.") from None
        except httpx2.HTTPError as exc:
            raise error_from_transport(exc, self._deployment.model_name) from None
        try:
            if not response.is_success:
                error_body = await _read_head(response, MAX_ERROR_BODY_BYTES)
                raise error_from_status(response.status_code, error_body, response.headers, self._secrets)
            if response.headers.get("content-type", "").startswith(_JSON):
                # The upstream ignored `stream: true`; a JSON body is not something this stream can carry.
                raise malformed("stream (a JSON body instead of server-sent events)")
        except BaseException:
            await response.aclose()
            raise
        return HTTPEventStream(response, self._deployment.model_name, self._secrets)


class HTTPEventStream:
    """The parsed events of one accepted upstream stream (an UpstreamStream)."""

    def __init__(self, response: httpx2.Response, model: str, secrets: tuple[str | None, ...]) -> None:
        self._response = response
        self._model = model
        self._secrets = secrets

    async def __aiter__(self) -> AsyncIterator[JSONObject]:
        decoder = SSEDecoder()
        try:
            async for raw in self._response.aiter_bytes():
                for event in decoder.feed(raw):
                    data = self._parse(event.data, event.event)
                    if data is None:
                        return
                    if data:
                        yield data
            for event in decoder.close():
                data = self._parse(event.data, event.event)
                if data is None:
                    return
                if data:
                    yield data
        except httpx2.HTTPError as exc:
            raise error_from_transport(exc, self._model) from None
        except SSEError:
            raise malformed("event stream") from None
        finally:
            await self._response.aclose()

    async def aclose(self) -> None:
        await self._response.aclose()

    def _parse(self, data: str, event: str) -> JSONObject | None:
        """None at `[DONE]`; {} for an event to skip; raises on a malformed or error event."""
        text = data.strip()
        if text == "[DONE]":
            return None
        if not text:
            return {}
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise malformed("stream event") from None
        if not isinstance(obj, dict):
            raise malformed("stream event")
        if event == "error" or (obj.get("error") and not obj.get("choices")):
            raise error_from_event(obj.get("error", obj), self._secrets)
        return obj


async def _read_head(response: httpx2.Response, limit: int) -> bytes:
    body = b""
    async for raw in response.aiter_bytes():
        body += raw
        if len(body) >= limit:
            break
    return body[:limit]
