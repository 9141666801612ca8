"""The façade's one gRPC channel to core and the stubs over it. Created in the app's lifespan (on the serving
event loop) and closed when the app stops; never one channel per request."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import grpc
from aqueduct.v1 import (
    batch_service_pb2_grpc,
    chat_service_pb2_grpc,
    completion_service_pb2_grpc,
    embedding_service_pb2_grpc,
    file_service_pb2_grpc,
    mcp_service_pb2_grpc,
    media_service_pb2_grpc,
    model_service_pb2_grpc,
)
from grpc_health.v1 import health_pb2

from .settings import FacadeSettings

if TYPE_CHECKING:
    from aqueduct.v1.batch_service_pb2_grpc import BatchServiceAsyncStub
    from aqueduct.v1.chat_service_pb2_grpc import ChatServiceAsyncStub
    from aqueduct.v1.completion_service_pb2_grpc import CompletionServiceAsyncStub
    from aqueduct.v1.embedding_service_pb2_grpc import EmbeddingServiceAsyncStub
    from aqueduct.v1.file_service_pb2_grpc import FileServiceAsyncStub
    from aqueduct.v1.mcp_service_pb2_grpc import McpServiceAsyncStub
    from aqueduct.v1.media_service_pb2_grpc import MediaServiceAsyncStub
    from aqueduct.v1.model_service_pb2_grpc import ModelServiceAsyncStub


class CoreClient:
    """`channel_factory`, when given, makes the channel instead of a TCP one to `target`: `aqueduct serve`
    passes core's in-process channel (same contract, no network); `target` then only names it."""

    def __init__(
        self,
        target: str,
        settings: FacadeSettings,
        channel_factory: Callable[[], grpc.aio.Channel] | None = None,
    ) -> None:
        self.target = target
        self._settings = settings
        self._channel_factory = channel_factory
        self._channel: grpc.aio.Channel | None = None

    def _tcp_channel(self) -> grpc.aio.Channel:
        limit = self._settings.max_grpc_message_bytes
        return grpc.aio.insecure_channel(
            self.target,
            options=[("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)],
        )

    async def open(self) -> None:
        channel = self._channel_factory() if self._channel_factory is not None else self._tcp_channel()
        self._channel = channel
        self.chat: ChatServiceAsyncStub = chat_service_pb2_grpc.ChatServiceStub(channel)
        self.completions: CompletionServiceAsyncStub = completion_service_pb2_grpc.CompletionServiceStub(channel)
        self.embeddings: EmbeddingServiceAsyncStub = embedding_service_pb2_grpc.EmbeddingServiceStub(channel)
        self.media: MediaServiceAsyncStub = media_service_pb2_grpc.MediaServiceStub(channel)
        self.models: ModelServiceAsyncStub = model_service_pb2_grpc.ModelServiceStub(channel)
        self.mcp: McpServiceAsyncStub = mcp_service_pb2_grpc.McpServiceStub(channel)
        self.files: FileServiceAsyncStub = file_service_pb2_grpc.FileServiceStub(channel)
        self.batches: BatchServiceAsyncStub = batch_service_pb2_grpc.BatchServiceStub(channel)
        # The health stub's type stubs lack the async Check, so the method is bound directly.
        self.health_check: grpc.aio.UnaryUnaryMultiCallable[
            health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse
        ] = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None

    @property
    def is_open(self) -> bool:
        return self._channel is not None
