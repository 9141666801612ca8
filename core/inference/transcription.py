"""Transcriptions and translations: resolve the model, stream the upload to the upstream as a multipart form,
relay the transcript, record usage (tokens or audio seconds as the upstream reports them).

Unary: the transcript document comes back whole (json, text, srt, verbose_json, vtt) with the upstream's
content type. Streamed (`stream=true`): the upstream's events are relayed as bytes as they arrive and watched
on the side for the final `transcript.text.done` event, its usage, and the stream's completeness."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aqueduct.v1 import media_pb2

from aqueduct_openai import transcription_form_fields
from core.errors import InvalidRequest
from core.inference.caller import Caller
from core.inference.media_usage import EventWatcher, MediaUsage, document_usage
from core.inference.pipeline import InferenceDeps, Metered
from core.inference.response_metadata import ResponseMetadata
from core.inference.speech import Emit
from core.inference.token_estimate import estimate_text_tokens
from core.inference.upload import ReplayableUpload
from core.inference.usage_meter import UsageMeter
from core.providers.base import Provider
from core.providers.media import TRANSCRIPTIONS_PATH, TRANSLATIONS_PATH, UpstreamBody, media_calls
from core.providers.upstream_errors import truncated_stream
from core.routing.registry import ModelGroup

TRANSCRIPTION = "audio_transcription"
TRANSLATION = "audio_translation"
# OpenAI's limit on an audio upload; core's own bound (the façade answers 413 before this is ever reached).
DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024


class TranscriptionInference:
    def __init__(self, deps: InferenceDeps, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> None:
        self._deps = deps
        self._max_upload = max_upload_bytes

    async def create(
        self,
        params: media_pb2.TranscriptionParams,
        file_chunks: AsyncIterator[bytes],
        caller: Caller,
        *,
        response_metadata: ResponseMetadata | None = None,
    ) -> media_pb2.Transcription:
        if params.stream:
            raise InvalidRequest("stream=true needs StreamTranscription.", field="stream")
        with Metered(self._deps.meter(caller, _end_user(params))) as meter:
            async with self._opened(params, file_chunks, caller, meter, response_metadata) as upstream:
                content = await upstream.read()
                usage = document_usage(content, upstream.content_type)
                _settle(meter, usage, params)
                result = media_pb2.Transcription(content_type=upstream.content_type, content=content)
                result.usage.input_tokens = usage.input_tokens or 0
                result.usage.output_tokens = usage.output_tokens or 0
                result.usage.total_tokens = result.usage.input_tokens + result.usage.output_tokens
                result.usage.seconds = usage.seconds or 0.0
                return result

    async def stream(
        self,
        params: media_pb2.TranscriptionParams,
        file_chunks: AsyncIterator[bytes],
        caller: Caller,
        *,
        on_accepted: Callable[[], Awaitable[None]],
        emit: Emit,
        response_metadata: ResponseMetadata | None = None,
    ) -> None:
        with Metered(self._deps.meter(caller, _end_user(params))) as meter:
            async with self._opened(params, file_chunks, caller, meter, response_metadata) as upstream:
                watcher = EventWatcher()
                try:
                    await on_accepted()
                    await emit(upstream.content_type, b"")
                    async with contextlib.aclosing(upstream.chunks()) as chunks:
                        async for chunk in chunks:
                            meter.mark_first_token()
                            watcher.feed(chunk)
                            await emit("", chunk)
                    if not watcher.done:
                        raise truncated_stream(params.model, meter.deployment or "", "")
                finally:
                    _settle(meter, watcher.usage, params)
                    await upstream.aclose()

    @contextlib.asynccontextmanager
    async def _opened(
        self,
        params: media_pb2.TranscriptionParams,
        file_chunks: AsyncIterator[bytes],
        caller: Caller,
        meter: UsageMeter,
        response_metadata: ResponseMetadata | None,
    ) -> AsyncIterator[UpstreamBody]:
        """Resolves the model for the task's endpoint and routes the upload; yields the accepted response."""
        translate = params.task == media_pb2.AUDIO_TASK_TRANSLATION
        endpoint, path = (TRANSLATION, TRANSLATIONS_PATH) if translate else (TRANSCRIPTION, TRANSCRIPTIONS_PATH)
        group: ModelGroup = self._deps.resolve(params.model, endpoint, meter)
        fields = transcription_form_fields(params)
        upload = ReplayableUpload(file_chunks, self._max_upload)
        file_type = params.file_content_type or "application/octet-stream"
        rid = caller.request_id

        async def send(provider: Provider) -> UpstreamBody:
            calls = media_calls(provider, group.name)
            return await calls.transcription(
                path, fields, (params.file_name, file_type, upload.reader()), request_id=rid
            )

        async with self._deps.routed(
            group,
            endpoint,
            meter,
            send,
            request_id=rid,
            response_metadata=response_metadata,
            estimated_input_tokens=estimate_text_tokens(params.prompt),
        ) as upstream:
            try:
                yield upstream
            finally:
                await upstream.aclose()


def _settle(meter: UsageMeter, usage: MediaUsage, params: media_pb2.TranscriptionParams) -> None:
    meter.audio_seconds = usage.seconds
    if usage.has_tokens:
        meter.set_tokens(usage.input_tokens or 0, usage.output_tokens or 0, estimated=False)
    else:
        meter.set_tokens(estimate_text_tokens(params.prompt), 0, estimated=True)


def _end_user(params: media_pb2.TranscriptionParams) -> str | None:
    return params.user_id if params.HasField("user_id") else None
