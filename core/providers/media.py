"""Speech, image generation and transcription calls to OpenAI-compatible upstreams.

These bodies are not SSE chat chunks: speech answers with audio bytes (or SSE carrying base64 audio), images with
a JSON document of several MB, transcriptions with a document in the requested format (json, text, srt, vtt) or
SSE. So the calls hand back the accepted response's raw bytes as they arrive (UpstreamBody) and leave parsing to
the inference layer, which only looks at what it must (usage). The upload of a transcription is a multipart form
streamed from the caller's chunks (chunked transfer encoding): the file is never joined in memory here."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from typing import Final

import aiohttp
import orjson
from aiohttp.payload import AsyncIterablePayload

from core.errors import InvalidRequest
from core.providers.base import JSONObject, Provider
from core.providers.openai_compatible import OpenAICompatibleProvider
from core.providers.upstream_errors import TRANSPORT_ERRORS, error_from_transport

_JSON: Final = "application/json"
_ANY: Final = "*/*"
SPEECH_PATH: Final = "/audio/speech"
IMAGES_PATH: Final = "/images/generations"
TRANSCRIPTIONS_PATH: Final = "/audio/transcriptions"
TRANSLATIONS_PATH: Final = "/audio/translations"


class UpstreamBody:
    """An accepted upstream response relayed as bytes. `chunks()` yields what each read brought, as soon as it
    arrives, and raises a domain error if the body breaks off (a short Content-Length or chunked body is
    aiohttp's ClientPayloadError); a body read to its end returns its connection to the pool, one left early
    closes it. `aclose()` stops the upstream request at once."""

    def __init__(self, response: aiohttp.ClientResponse, context: tuple[str, str, str]) -> None:
        self._response = response
        self._context = context
        self.content_type = response.headers.get("content-type", "application/octet-stream")

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        content = self._response.content
        try:
            while chunk := await content.readany():
                yield chunk
        except TRANSPORT_ERRORS as exc:
            raise error_from_transport(exc, *self._context) from exc
        finally:
            self._response.release()

    async def read(self) -> bytes:
        """The whole body (for documents of bounded size: transcripts, image lists)."""
        try:
            return await self._response.read()
        except TRANSPORT_ERRORS as exc:
            raise error_from_transport(exc, *self._context) from exc
        finally:
            self._response.release()

    async def aclose(self) -> None:
        self._response.close()


class MediaCalls:
    """The media endpoints of one deployment's OpenAI-compatible upstream."""

    def __init__(self, provider: OpenAICompatibleProvider) -> None:
        self._provider = provider

    async def _post_json(self, path: str, body: JSONObject, accept: str, request_id: str) -> UpstreamBody:
        provider = self._provider
        payload = orjson.dumps({**body, "model": provider.upstream_model_name()})
        response = await provider.open_response(path, payload, content_type=_JSON, accept=accept, request_id=request_id)
        return UpstreamBody(response, provider.error_context())

    async def speech(self, body: JSONObject, *, request_id: str) -> UpstreamBody:
        return await self._post_json(SPEECH_PATH, body, _ANY, request_id)

    async def image_generation(self, body: JSONObject, *, request_id: str) -> UpstreamBody:
        return await self._post_json(IMAGES_PATH, body, _JSON, request_id)

    async def transcription(
        self,
        path: str,
        fields: list[tuple[str, str]],
        file: tuple[str, str, AsyncIterable[bytes]],
        *,
        request_id: str,
    ) -> UpstreamBody:
        """`fields` in order, after the model (this deployment's name); `file` is (file name, content type, its
        bytes) and becomes the last part, as OpenAI's SDKs send it."""
        provider = self._provider
        writer = aiohttp.MultipartWriter("form-data")
        for name, value in (("model", provider.upstream_model_name()), *fields):
            part = writer.append(value, {"content-type": "text/plain; charset=utf-8"})
            part.set_content_disposition("form-data", name=name)
        file_name, content_type, chunks = file
        payload = AsyncIterablePayload(
            _as_async_iterator(chunks), content_type=content_type or "application/octet-stream"
        )
        part = writer.append_payload(payload)
        part.set_content_disposition("form-data", name="file", filename=file_name or "audio")
        response = await provider.open_response(
            path, writer, content_type=writer.content_type, accept=_ANY, request_id=request_id
        )
        return UpstreamBody(response, provider.error_context())


async def _as_async_iterator(chunks: AsyncIterable[bytes]) -> AsyncGenerator[bytes, None]:
    async for chunk in chunks:
        yield chunk


def media_calls(provider: Provider, model: str) -> MediaCalls:
    """The media calls of `provider`; InvalidRequest when its kind of upstream has none (e.g. the mock)."""
    if isinstance(provider, OpenAICompatibleProvider):
        return MediaCalls(provider)
    raise InvalidRequest(f"The model `{model}` is served by a provider that has no speech, image or audio API.")
