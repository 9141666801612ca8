"""Adapter for upstreams that speak the OpenAI HTTP API (OpenAI, vLLM, llama.cpp, TGI, LM Studio, ...)."""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from collections.abc import AsyncGenerator
from urllib.parse import urlsplit

import orjson

from aqueduct_contract import REQUEST_ID
from core.errors import AqueductError, UpstreamTimeout
from core.providers.base import BatchedStream, JSONObject, UpstreamStream
from core.providers.sse import SSEDecoder, SSEError, SSEEvent
from core.providers.upstream_errors import (
    MAX_ERROR_BODY_BYTES,
    error_from_event,
    error_from_status,
    error_from_transport,
    malformed,
)
from core.routing.deployment import Deployment
from core.settings import DEFAULT_API_BASES, ConfigError
from core.upstream_http import UpstreamHTTPClient, UpstreamHTTPError, UpstreamHTTPSettings, UpstreamResponse

_JSON = "application/json"
_EVENT_STREAM = "text/event-stream"
# After `[DONE]` the body still has its closing bytes (the last chunk of chunked framing, often in a later
# TCP segment). Reading them lets the connection go back to the pool, which saves a new connection per
# stream; an upstream that keeps sending, or is slow to end the body, gets its connection closed instead.
STREAM_DRAIN_MAX_BYTES = 64 * 1024
STREAM_DRAIN_MAX_SECONDS = 0.1
# Headers the operator's extra_headers may not set: the client frames the body itself, and it cannot decode
# a compressed response.
_RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "accept-encoding"})


class OpenAICompatibleProvider:
    """One pooled keep-alive HTTP client per deployment. The upstream only ever sees the deployment's own
    key (and the operator's litellm_params.extra_headers): nothing from the caller's request headers is
    forwarded except x-request-id."""

    def __init__(
        self,
        deployment: Deployment,
        pool: UpstreamHTTPSettings | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """`pool` gives the connection pool's limits (its timeouts are replaced by the deployment's);
        `ssl_context` verifies an https:// api_base (default: the system CA store)."""
        base_url = (deployment.api_base or DEFAULT_API_BASES[deployment.provider]).rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"model {deployment.model_name!r}: api_base must be an http:// or https:// URL")
        # The operator's static extra headers first, so they can never replace the protocol or auth headers.
        headers = {k: v for k, v in deployment.extra_headers if k not in _RESERVED_HEADERS}
        headers |= {"content-type": _JSON, "accept": _JSON}
        if deployment.api_key:
            headers["authorization"] = f"Bearer {deployment.api_key}"
        headers.pop(REQUEST_ID, None)  # always the request's own
        self._json_headers = tuple(headers.items())
        self._stream_headers = tuple({**headers, "accept": _EVENT_STREAM}.items())
        self._base_url = base_url
        self._deployment = deployment
        self._secrets = (deployment.api_key,)
        # read = the longest silence allowed: the whole request for JSON calls (the default here), the chunk
        # gap for streams (per request). Waiting for a pooled connection counts against the whole request.
        settings = dataclasses.replace(
            pool or UpstreamHTTPSettings(),
            connect_timeout_seconds=deployment.connect_timeout_seconds,
            read_timeout_seconds=deployment.timeout_seconds,
            pool_timeout_seconds=deployment.timeout_seconds,
        )
        self._client = UpstreamHTTPClient(settings, ssl_context=ssl_context)

    @property
    def connections_opened(self) -> int:
        """Upstream connections made so far (keep-alive reuse keeps this low)."""
        return self._client.connections_opened

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
            # The client's timeouts bound each phase; this bounds the whole request as documented.
            async with asyncio.timeout(self._deployment.timeout_seconds):
                response = await self._client.request(
                    "POST",
                    self._base_url + path,
                    headers=(*self._json_headers, (REQUEST_ID, request_id)),
                    content=payload,
                )
                content = await response.aread()
        except TimeoutError:
            raise UpstreamTimeout(f"The upstream for model `{self._deployment.model_name}` timed out.") from None
        except UpstreamHTTPError as exc:
            raise error_from_transport(exc, self._deployment.model_name) from None
        if not response.is_success:
            raise error_from_status(response.status, content, dict(response.headers), self._secrets)
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise malformed("JSON response") from None
        if not isinstance(data, dict):
            raise malformed("JSON response")
        return data

    async def _open_stream(self, path: str, body: JSONObject, request_id: str) -> UpstreamStream:
        payload = self._payload(body)
        try:
            # Until the response head; from then on the stream's chunk gap (read_timeout) bounds each wait.
            async with asyncio.timeout(self._deployment.timeout_seconds):
                response = await self._client.request(
                    "POST",
                    self._base_url + path,
                    headers=(*self._stream_headers, (REQUEST_ID, request_id)),
                    content=payload,
                    read_timeout=self._deployment.stream_timeout_seconds,
                )
        except TimeoutError:
            raise UpstreamTimeout(f"The upstream for model `{self._deployment.model_name}` timed out.") from None
        except UpstreamHTTPError as exc:
            raise error_from_transport(exc, self._deployment.model_name) from None
        try:
            if not response.is_success:
                try:
                    error_body = await response.aread(limit=MAX_ERROR_BODY_BYTES)
                except UpstreamHTTPError:
                    error_body = b""  # the status alone still says what happened
                raise error_from_status(response.status, error_body, dict(response.headers), self._secrets)
            if (response.header("content-type") or "").startswith(_JSON):
                # The upstream ignored `stream: true`; a JSON body is not something this stream can carry.
                raise malformed("stream (a JSON body instead of server-sent events)")
        except BaseException:
            await response.aclose()
            raise
        return HTTPEventStream(response, self._deployment.model_name, self._secrets)


class HTTPEventStream(BatchedStream):
    """The parsed events of one accepted upstream stream (an UpstreamStream), a batch per read of the body. A
    stream read to `[DONE]` or to the end of its body gives its connection back to the pool; one stopped early
    (an error, a cancelled client, aclose()) closes it, so a half-read connection is never reused."""

    def __init__(self, response: UpstreamResponse, model: str, secrets: tuple[str | None, ...]) -> None:
        self._response = response
        self._model = model
        self._secrets = secrets

    async def batches(self) -> AsyncGenerator[list[JSONObject], None]:
        response = self._response
        decoder = SSEDecoder()
        first = True
        try:
            while (raw := await response.next_chunk()) is not None:
                events = decoder.feed(raw)
                # The stream's first event goes alone, before the rest of a burst is parsed: the client's first
                # byte waits for nothing else.
                for group in (events[:1], events[1:]) if first and len(events) > 1 else (events,):
                    batch, done, failure = self._parse_all(group)
                    if batch:
                        first = False
                        yield batch
                    if failure is not None:
                        raise failure
                    if done:
                        await response.adrain(STREAM_DRAIN_MAX_BYTES, STREAM_DRAIN_MAX_SECONDS)
                        return
            batch, _, failure = self._parse_all(decoder.close())
            if batch:
                yield batch
            if failure is not None:
                raise failure
        except UpstreamHTTPError as exc:
            raise error_from_transport(exc, self._model) from None
        except SSEError:
            raise malformed("event stream") from None
        finally:
            await self._response.aclose()

    def _parse_all(self, events: list[SSEEvent]) -> tuple[list[JSONObject], bool, AqueductError | None]:
        """The events' objects up to `[DONE]` (then True) or up to a bad event (then its error)."""
        batch: list[JSONObject] = []
        for event in events:
            try:
                data = self._parse(event.data, event.event)
            except AqueductError as exc:
                return batch, False, exc
            if data is None:
                return batch, True, None
            if data:
                batch.append(data)
        return batch, False, None

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
