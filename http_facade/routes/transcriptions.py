"""POST /v1/audio/transcriptions and /v1/audio/translations: a multipart upload streamed to core; the transcript
comes back in the requested format with its content type (or, with stream=true, as relayed events)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import grpc
from aqueduct.v1 import media_service_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..byte_stream import ByteStreamResponse, first_message
from ..edge import ON_DISCONNECT, EdgeRejection, check_credential
from ..errors import OpenAIError, cancelled, error_response, from_rpc_error
from ..forwarding import Forwarded, response_headers
from ..uploads import UploadReader
from ._common import RouteDeps, endpoint_routes

log = logging.getLogger("aqueduct.facade")

TRANSCRIPTIONS = "POST /v1/audio/transcriptions"
TRANSLATIONS = "POST /v1/audio/translations"


def routes(deps: RouteDeps) -> list[Route]:
    async def handle(request: Request, endpoint: str, translate: bool) -> Response:
        fwd = deps.forward(request, endpoint)
        try:
            check_credential(fwd)
            upload = UploadReader(request, deps.settings, translate=translate)
            params = await upload.start()
        except EdgeRejection as rejected:
            return error_response(rejected.error, fwd.request_id)
        media = deps.core.media
        if params.stream:
            stream_call = media.StreamTranscription(
                upload.messages(media_service_pb2.StreamTranscriptionRequest, params), metadata=fwd.metadata
            )
            upload.on_error(stream_call.cancel)
            try:
                first = await first_message(stream_call)
            except grpc.aio.AioRpcError as exc:
                return _failed(upload.error or from_rpc_error(exc), fwd)
            except asyncio.CancelledError:
                return _cancelled(upload.error, fwd)
            return ByteStreamResponse(stream_call, first, await response_headers(stream_call, fwd.request_id))
        call = media.CreateTranscription(
            upload.messages(media_service_pb2.CreateTranscriptionRequest, params), metadata=fwd.metadata
        )
        upload.on_error(call.cancel)
        hooks: list[Callable[[], object]] | None = request.scope.get(ON_DISCONNECT)
        if hooks is not None:
            hooks.append(call.cancel)
        try:
            response = await call
        except grpc.aio.AioRpcError as exc:
            return _failed(upload.error or from_rpc_error(exc), fwd)
        except asyncio.CancelledError:
            return _cancelled(upload.error, fwd)
        transcription = response.transcription
        headers = await response_headers(call, fwd.request_id)
        headers["content-type"] = transcription.content_type or "application/json"
        return Response(transcription.content, headers=headers)

    async def create_transcription(request: Request) -> Response:
        return await handle(request, TRANSCRIPTIONS, translate=False)

    async def create_translation(request: Request) -> Response:
        return await handle(request, TRANSLATIONS, translate=True)

    return [
        *endpoint_routes("/audio/transcriptions", create_transcription, "POST"),
        *endpoint_routes("/audio/translations", create_translation, "POST"),
    ]


def _failed(error: OpenAIError, fwd: Forwarded) -> Response:
    return error_response(error, fwd.request_id)


def _cancelled(error: OpenAIError | None, fwd: Forwarded) -> Response:
    """The call was cancelled: by the upload (its error is the answer) or because the client went away (our own
    task being cancelled, at shutdown, propagates)."""
    task = asyncio.current_task()
    if error is None and task is not None and task.cancelling():
        raise asyncio.CancelledError
    if error is None:
        log.info("client went away; request id %s cancelled", fwd.request_id)
    return error_response(error or cancelled(), fwd.request_id)
