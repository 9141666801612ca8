"""MediaService servicer: proto in, the speech / image / transcription domain calls, proto out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aqueduct.v1 import media_pb2, media_service_pb2, media_service_pb2_grpc

from core.errors import InvalidRequest
from core.inference.images import ImageInference
from core.inference.response_metadata import ResponseMetadata
from core.inference.speech import SpeechInference
from core.inference.transcription import TranscriptionInference
from core.services._inference_call import Context, caller_of, send_response_metadata

_SERVICE = "/aqueduct.v1.MediaService/"


class MediaServicer(media_service_pb2_grpc.MediaServiceServicer):
    def __init__(self, speech: SpeechInference, images: ImageInference, transcriptions: TranscriptionInference) -> None:
        self._speech = speech
        self._images = images
        self._transcriptions = transcriptions

    async def StreamSpeech(
        self, request: media_service_pb2.StreamSpeechRequest, context: Context
    ) -> AsyncIterator[media_service_pb2.StreamSpeechResponse]:
        # Written from inside the domain call (see ChatServicer.StreamChatCompletion for why).
        async def emit(content_type: str, data: bytes) -> None:
            await context.write(media_service_pb2.StreamSpeechResponse(content_type=content_type, data=data))

        metadata = ResponseMetadata()
        await self._speech.stream(
            request.params,
            caller_of(context, _SERVICE + "StreamSpeech"),
            on_accepted=lambda: send_response_metadata(context, metadata),
            emit=emit,
            response_metadata=metadata,
        )
        return
        yield

    async def CreateImage(
        self, request: media_service_pb2.CreateImageRequest, context: Context
    ) -> media_service_pb2.CreateImageResponse:
        metadata = ResponseMetadata()
        caller = caller_of(context, _SERVICE + "CreateImage")
        response = media_service_pb2.CreateImageResponse()
        await self._images.create(request.params, caller, response_metadata=metadata, into=response.images)
        await send_response_metadata(context, metadata)
        return response

    async def CreateTranscription(
        self, request_iterator: AsyncIterator[media_service_pb2.CreateTranscriptionRequest], context: Context
    ) -> media_service_pb2.CreateTranscriptionResponse:
        caller = caller_of(context, _SERVICE + "CreateTranscription")
        params, chunks = await _split_upload(request_iterator)
        metadata = ResponseMetadata()
        transcription = await self._transcriptions.create(params, chunks, caller, response_metadata=metadata)
        await send_response_metadata(context, metadata)
        return media_service_pb2.CreateTranscriptionResponse(transcription=transcription)

    async def StreamTranscription(
        self, request_iterator: AsyncIterator[media_service_pb2.StreamTranscriptionRequest], context: Context
    ) -> AsyncIterator[media_service_pb2.StreamTranscriptionResponse]:
        caller = caller_of(context, _SERVICE + "StreamTranscription")
        params, chunks = await _split_upload(request_iterator)

        async def emit(content_type: str, data: bytes) -> None:
            await context.write(media_service_pb2.StreamTranscriptionResponse(content_type=content_type, data=data))

        metadata = ResponseMetadata()
        await self._transcriptions.stream(
            params,
            chunks,
            caller,
            on_accepted=lambda: send_response_metadata(context, metadata),
            emit=emit,
            response_metadata=metadata,
        )
        return
        yield


# Create- and StreamTranscriptionRequest have the same shape; their generated WhichOneof types do not unify.
async def _split_upload(
    messages: AsyncIterator[Any],
) -> tuple[media_pb2.TranscriptionParams, AsyncIterator[bytes]]:
    """(the first message's params, the file's chunks from the rest)."""
    first = await anext(messages, None)
    if first is None or first.WhichOneof("part") != "params":
        raise InvalidRequest("The first message of an upload must carry the params.", field="params")

    async def chunks() -> AsyncIterator[bytes]:
        async for message in messages:
            if message.WhichOneof("part") != "file_chunk":
                raise InvalidRequest("Only the first message of an upload may carry params.", field="params")
            yield message.file_chunk

    return first.params, chunks()
