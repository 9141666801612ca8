"""POST /v1/audio/speech: the audio (or its event stream) relayed as core receives it."""

from __future__ import annotations

import grpc
from aqueduct.v1 import media_service_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aqueduct_openai import speech_params_from_json

from ..byte_stream import ByteStreamResponse, first_message
from ..errors import error_response, from_rpc_error
from ..forwarding import response_headers
from ._common import BadRequest, RouteDeps, endpoint_routes, parse_body

ENDPOINT = "POST /v1/audio/speech"


def routes(deps: RouteDeps) -> list[Route]:
    async def create_speech(request: Request) -> Response:
        fwd = deps.forward(request, ENDPOINT)
        try:
            params, _ = await parse_body(request, speech_params_from_json, fwd, deps.settings)
        except BadRequest as bad:
            return bad.response
        call = deps.core.media.StreamSpeech(media_service_pb2.StreamSpeechRequest(params=params), metadata=fwd.metadata)
        try:
            first = await first_message(call)
        except grpc.aio.AioRpcError as exc:
            return error_response(from_rpc_error(exc), fwd.request_id)
        return ByteStreamResponse(call, first, await response_headers(call, fwd.request_id))

    return endpoint_routes("/audio/speech", create_speech, "POST")
