"""CompletionService servicer: proto in, CompletionInference call, proto out."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aqueduct.v1 import completion_pb2, completion_service_pb2, completion_service_pb2_grpc

from core.inference.completion import CompletionInference
from core.inference.response_metadata import ResponseMetadata
from core.services._inference_call import Context, caller_of, send_response_metadata

_CREATE = "/aqueduct.v1.CompletionService/CreateCompletion"
_STREAM = "/aqueduct.v1.CompletionService/StreamCompletion"


class CompletionServicer(completion_service_pb2_grpc.CompletionServiceServicer):
    def __init__(self, completions: CompletionInference) -> None:
        self._completions = completions

    async def CreateCompletion(
        self, request: completion_service_pb2.CreateCompletionRequest, context: Context
    ) -> completion_service_pb2.CreateCompletionResponse:
        metadata = ResponseMetadata()
        completion = await self._completions.create(
            request.params, caller_of(context, _CREATE), response_metadata=metadata
        )
        await send_response_metadata(context, metadata)
        return completion_service_pb2.CreateCompletionResponse(completion=completion)

    async def StreamCompletion(
        self, request: completion_service_pb2.StreamCompletionRequest, context: Context
    ) -> AsyncIterator[completion_service_pb2.StreamCompletionResponse]:
        # Same shape as ChatServicer.StreamChatCompletion (see the comment there).
        async def emit(chunks: list[completion_pb2.Completion]) -> None:
            await context.write(completion_service_pb2.StreamCompletionResponse(chunks=chunks))

        metadata = ResponseMetadata()
        await self._completions.stream(
            request.params,
            caller_of(context, _STREAM),
            on_accepted=lambda: send_response_metadata(context, metadata),
            emit=emit,
            response_metadata=metadata,
        )
        return
        yield
