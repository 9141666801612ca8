"""ChatService servicer: proto in, ChatInference call, proto out."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aqueduct.v1 import chat_pb2, chat_service_pb2, chat_service_pb2_grpc

from core.inference.chat import ChatInference
from core.inference.response_metadata import ResponseMetadata
from core.services._inference_call import Context, caller_of, send_response_metadata

_CREATE = "/aqueduct.v1.ChatService/CreateChatCompletion"
_STREAM = "/aqueduct.v1.ChatService/StreamChatCompletion"


class ChatServicer(chat_service_pb2_grpc.ChatServiceServicer):
    def __init__(self, chat: ChatInference) -> None:
        self._chat = chat

    async def CreateChatCompletion(
        self, request: chat_service_pb2.CreateChatCompletionRequest, context: Context
    ) -> chat_service_pb2.CreateChatCompletionResponse:
        metadata = ResponseMetadata()
        completion = await self._chat.create(request.params, caller_of(context, _CREATE), response_metadata=metadata)
        await send_response_metadata(context, metadata)
        return chat_service_pb2.CreateChatCompletionResponse(completion=completion)

    async def StreamChatCompletion(
        self, request: chat_service_pb2.StreamChatCompletionRequest, context: Context
    ) -> AsyncIterator[chat_service_pb2.StreamChatCompletionResponse]:
        # Messages go out through context.write from inside the domain call, so a cancelled RPC interrupts
        # that call where it waits (and it stops the upstream at once). The function stays an async generator
        # (it never yields) because that is the streaming-handler shape the server interceptors wrap.
        async def emit(chunks: list[chat_pb2.ChatCompletionChunk]) -> None:
            await context.write(chat_service_pb2.StreamChatCompletionResponse(chunks=chunks))

        metadata = ResponseMetadata()
        await self._chat.stream(
            request.params,
            caller_of(context, _STREAM),
            on_accepted=lambda: send_response_metadata(context, metadata),
            emit=emit,
            response_metadata=metadata,
        )
        return
        yield
