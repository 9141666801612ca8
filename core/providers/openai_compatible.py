"""Adapter for upstreams that speak the OpenAI HTTP API (OpenAI, vLLM, llama.cpp, TGI, LM Studio, ...)."""

from __future__ import annotations

import re
from typing import Final

import aiohttp
import orjson
from yarl import URL

from aqueduct_contract import REQUEST_ID
from core.providers.base import JSONObject, UpstreamStream
from core.providers.endpoint import Endpoint, endpoint_of
from core.providers.event_stream import HTTPEventStream
from core.providers.http_session import UpstreamSession
from core.providers.scrubbing import Scrubber
from core.providers.upstream_errors import (
    MAX_ERROR_BODY_BYTES,
    TRANSPORT_ERRORS,
    error_from_status,
    error_from_transport,
    json_object,
    malformed,
    nothing_was_sent,
    redirect_error,
)
from core.routing.deployment import Deployment
from core.settings import ConfigError

_JSON: Final = "application/json"
_EVENT_STREAM: Final = "text/event-stream"
# extra_headers whose values are credentials (Azure's api-key, x-api-key, ...): scrubbed from error text.
_CREDENTIAL_HEADER = re.compile(r"(?i)key|token|auth|secret|password|cookie")
# Headers the operator's extra_headers may not set: the client frames and encodes the exchange itself.
_RESERVED_HEADERS: Final = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "accept-encoding",
        "authorization",
        "proxy-authorization",
    }
)


class OpenAICompatibleProvider:
    """A deployment's upstream, reached through the pool's shared aiohttp session. The upstream only ever sees
    the deployment's own credentials (and the operator's litellm_params.extra_headers): nothing from the
    caller's request headers is forwarded except x-request-id."""

    # The paths under api_base this adapter posts to (an adapter for another wire format has its own).
    PATHS: tuple[str, ...] = ("/chat/completions", "/completions", "/embeddings")

    def __init__(self, deployment: Deployment, session: UpstreamSession | None = None) -> None:
        """`session` is the pool's shared one; without it the provider has (and closes) its own."""
        endpoint = self._endpoint_of(deployment)
        self._endpoint = endpoint
        self._urls = {path: self._url_of(endpoint, path) for path in self.PATHS}
        credentials = self._credentials(deployment, endpoint)
        headers, self._proxy_headers = _static_headers(deployment, endpoint, credentials)
        self._json_headers = tuple(headers.items())
        self._stream_headers = tuple({**headers, "accept": _EVENT_STREAM}.items())
        self._deployment = deployment
        self._upstream_model = deployment.upstream_model
        self._where = (deployment.id, endpoint.origin)
        self.secrets: tuple[str, ...] = tuple(
            s
            for s in (
                deployment.api_key,
                *credentials.values(),
                *(v.removeprefix("Bearer ") for v in credentials.values()),
                *endpoint.secrets,
                *(v for k, v in deployment.extra_headers if _CREDENTIAL_HEADER.search(k)),
            )
            if s
        )
        self._scrub = Scrubber(self.secrets)
        # Built once: a request is bounded as a whole, from sending to the end of its body (aiohttp's `total`
        # also covers the reads of a stream's body); a stream also by the longest silence between two reads.
        # The connect bound is the TCP (and TLS) set-up alone.
        connect, total = deployment.connect_timeout_seconds, deployment.timeout_seconds
        self._json_timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect)
        self._stream_timeout = aiohttp.ClientTimeout(
            total=total, sock_connect=connect, sock_read=deployment.stream_timeout_seconds
        )
        self._owns_session = session is None
        self._session = session or UpstreamSession()

    # -- what an adapter for another provider changes (read once, at start-up) ------------------------------

    def _endpoint_of(self, deployment: Deployment) -> Endpoint:
        return endpoint_of(deployment)

    def _url_of(self, endpoint: Endpoint, path: str) -> URL:
        return endpoint.url(path)

    def _credentials(self, deployment: Deployment, endpoint: Endpoint) -> dict[str, str]:
        """The headers that carry the deployment's credentials."""
        if deployment.api_key:
            return {"authorization": f"Bearer {deployment.api_key}"}
        if endpoint.authorization:
            return {"authorization": endpoint.authorization}
        return {}

    def scrub_also(self, secrets: tuple[str, ...]) -> None:
        """Also removes these (the other deployments' credentials) from this upstream's error text."""
        self._scrub = self._scrub.with_secrets(secrets)

    @property
    def connections_opened(self) -> int:
        """Upstream connections made so far by this provider's session (keep-alive reuse keeps this low)."""
        return self._session.connections_opened

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

    async def open_response(
        self, path: str, data: object, *, content_type: str, accept: str, request_id: str
    ) -> aiohttp.ClientResponse:
        """POSTs `data` (bytes, or an aiohttp payload such as a streamed multipart upload) to `path` with the
        deployment's credentials and returns the accepted response, body unread, for the caller to read and
        release (core.providers.media). Failures raise domain errors, as the JSON calls do."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = self._endpoint.url(path)
        headers = (
            *((k, v) for k, v in self._json_headers if k not in ("content-type", "accept")),
            ("content-type", content_type),
            ("accept", accept),
            (REQUEST_ID, request_id),
        )
        try:
            response = await self._send(path, data, headers, self._stream_timeout)  # type: ignore[arg-type]
        except TRANSPORT_ERRORS as exc:
            raise error_from_transport(exc, self._deployment.model_name, *self._where) from exc
        if response.status < 300:
            return response
        try:
            try:
                error_body = await _read_head_of(response.content, MAX_ERROR_BODY_BYTES)
            except TRANSPORT_ERRORS:
                error_body = b""
            raise self._status_error(response, error_body)
        finally:
            response.close()

    def upstream_model_name(self) -> str:
        """The model name this deployment's upstream expects."""
        return self._deployment.upstream_model

    def error_context(self) -> tuple[str, str, str]:
        """(public model name, deployment id, origin): what error_from_transport and truncated_stream name."""
        return (self._deployment.model_name, *self._where)

    async def aclose(self) -> None:
        if self._owns_session:
            await self._session.aclose()

    def _payload(self, body: JSONObject) -> bytes:
        return orjson.dumps({**body, "model": self._upstream_model})

    async def _send(
        self, path: str, payload: bytes, headers: tuple[tuple[str, str], ...], bounds: aiohttp.ClientTimeout
    ) -> aiohttp.ClientResponse:
        """POSTs and returns once the response head arrived (aiohttp skips interim 1xx heads). Sent a second
        time, on a fresh connection, only when not a byte of the first went out (nothing_was_sent)."""
        endpoint = self._endpoint
        session = self._session.get()
        url = self._urls[path]
        for attempt in (1, 2):
            try:
                return await session.post(
                    url,
                    data=payload,
                    headers=headers,
                    timeout=bounds,
                    allow_redirects=False,
                    ssl=endpoint.ssl,
                    proxy=endpoint.proxy,
                    proxy_headers=self._proxy_headers,
                )
            except aiohttp.ClientOSError as exc:
                if attempt == 2 or not nothing_was_sent(exc):
                    raise
        raise AssertionError("unreachable")

    async def _post_json(self, path: str, body: JSONObject, request_id: str) -> JSONObject:
        payload = self._payload(body)
        try:
            response = await self._send(
                path, payload, (*self._json_headers, (REQUEST_ID, request_id)), self._json_timeout
            )
            try:
                if response.status >= 300:
                    # Only the head of an error body is read: an error is not worth 50 MB of memory.
                    content = await _read_head_of(response.content, MAX_ERROR_BODY_BYTES)
                else:
                    content = await response.read()
            finally:
                # An error body not read to its end closes the connection instead of pooling it.
                response.release()
        except TRANSPORT_ERRORS as exc:
            raise error_from_transport(exc, self._deployment.model_name, *self._where) from exc
        if response.status >= 300:
            raise self._status_error(response, content)
        return json_object(content, "JSON response")

    async def _open_stream(self, path: str, body: JSONObject, request_id: str) -> UpstreamStream:
        payload = self._payload(body)
        try:
            response = await self._send(
                path, payload, (*self._stream_headers, (REQUEST_ID, request_id)), self._stream_timeout
            )
        except TRANSPORT_ERRORS as exc:
            raise error_from_transport(exc, self._deployment.model_name, *self._where) from exc
        try:
            if response.status >= 300:
                try:
                    error_body = await _read_head_of(response.content, MAX_ERROR_BODY_BYTES)
                except TRANSPORT_ERRORS:
                    error_body = b""  # the status alone still says what happened
                raise self._status_error(response, error_body)
            if response.content_type == _JSON:
                # The upstream ignored `stream: true`; a JSON body is not something this stream can carry.
                raise malformed("stream (a JSON body instead of server-sent events)")
        except BaseException:
            response.close()
            raise
        return self._event_stream(response)

    def _event_stream(self, response: aiohttp.ClientResponse) -> UpstreamStream:
        return HTTPEventStream(response, self._deployment.model_name, self._where, self._scrub)

    def _status_error(self, response: aiohttp.ClientResponse, body: bytes) -> Exception:
        if response.status < 400:
            return redirect_error(response.status, response.headers.get("location"), self._scrub)
        return error_from_status(response.status, body, response.headers, self._scrub, self._deployment.model_name)


async def _read_head_of(content: aiohttp.StreamReader, limit: int) -> bytes:
    """The body's first `limit` bytes (or all of a shorter one)."""
    parts: list[bytes] = []
    size = 0
    while size < limit and (chunk := await content.read(limit - size)):
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _static_headers(
    deployment: Deployment, endpoint: Endpoint, credentials: dict[str, str]
) -> tuple[dict[str, str], dict[str, str] | None]:
    """(the headers of every request, the headers of a proxy CONNECT). The operator's extra headers go first so
    they can never replace the protocol or auth headers. Proxy credentials ride on the CONNECT of an https://
    upstream, or on each request to an http:// one (which the proxy receives in full)."""
    headers = {k: v for k, v in deployment.extra_headers if k not in _RESERVED_HEADERS and k not in credentials}
    headers |= {"content-type": _JSON, "accept": _JSON}
    headers |= credentials
    headers.pop(REQUEST_ID, None)  # always the request's own
    connect_headers = None
    if endpoint.proxy_authorization and endpoint.base_url.scheme == "https":
        connect_headers = {"proxy-authorization": endpoint.proxy_authorization}
    elif endpoint.proxy_authorization:
        headers["proxy-authorization"] = endpoint.proxy_authorization
    for name, value in headers.items():
        if "\r" in name + value or "\n" in name + value:
            # Would split the request head; the value is not shown, it may be a key.
            raise ConfigError(f"model {deployment.model_name!r}: the {name!r} header contains a line break")
    return headers, connect_headers
