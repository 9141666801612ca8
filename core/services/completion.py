"""CompletionService servicer: proto in, CompletionInference call, proto out."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aqueduct.v1 import completion_pb2, completion_service_pb2, completion_service_pb2_grpc

from core.inference.completion import CompletionInference
from core.services._inference_call import Context, Served, accept_stream, caller_of, set_served_trailers

_CREATE = "/aqueduct.v1.CompletionService/CreateCompletion"
_STREAM = "/aqueduct.v1.CompletionService/StreamCompletion"


class CompletionServicer(completion_service_pb2_grpc.CompletionServiceServicer):
    def __init__(self, completions: CompletionInference) -> None:
        self._completions = completions

    async def CreateCompletion(
        self, request: completion_service_pb2.CreateCompletionRequest, context: Context
    ) -> completion_service_pb2.CreateCompletionResponse:
        served = Served()
        completion = await self._completions.create(
            request.params, caller_of(context, _CREATE), on_served=served.record
        )
        set_served_trailers(context, served)
        return completion_service_pb2.CreateCompletionResponse(completion=completion)

    async def StreamCompletion(
        self, request: completion_service_pb2.StreamCompletionRequest, context: Context
    ) -> AsyncIterator[completion_service_pb2.StreamCompletionResponse]:
        # Same shape as ChatServicer.StreamChatCompletion (see the comment there).
        async def emit(chunks: list[completion_pb2.Completion]) -> None:
            await context.write(completion_service_pb2.StreamCompletionResponse(chunks=chunks))

        served = Served()
        await self._completions.stream(
            request.params,
            caller_of(context, _STREAM),
            on_accepted=lambda: accept_stream(context, served),
            emit=emit,
            on_served=served.record,
        )
        return
        yield
