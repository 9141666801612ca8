"""Wiring of the inference path: registry, provider adapters and the four inference servicers.

core/server.py awaits `add_inference_services(server, settings, usage)` and awaits `runtime.aclose()` after
the server stopped, which closes the upstream HTTP connection pools."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from aqueduct.v1 import (
    chat_service_pb2_grpc,
    completion_service_pb2_grpc,
    embedding_service_pb2_grpc,
    media_service_pb2_grpc,
    model_service_pb2_grpc,
)

from aqueduct_contract import grpc_message_limit
from core.governance.limits.deployment_counters import LimiterCounters
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.hooks import InferenceGovernance
from core.governance.limits.memory_backend import MemoryBackend
from core.inference.chat import ChatInference
from core.inference.completion import CompletionInference
from core.inference.embedding import EmbeddingInference
from core.inference.images import ImageInference
from core.inference.model_catalog import ModelCatalog
from core.inference.pipeline import InferenceDeps
from core.inference.speech import SpeechInference
from core.inference.transcription import TranscriptionInference
from core.providers.pool import ProviderPool
from core.routing.registry import ModelRegistry
from core.routing.router import Router
from core.routing.router_settings import router_settings_of
from core.services.chat import ChatServicer
from core.services.completion import CompletionServicer
from core.services.embedding import EmbeddingServicer
from core.services.media import MediaServicer
from core.services.model import ModelServicer
from core.settings import Settings
from core.usage.events import UsageSink


@dataclass(frozen=True, slots=True)
class InferenceRuntime:
    registry: ModelRegistry
    providers: ProviderPool
    router: Router
    deps: InferenceDeps

    async def aclose(self) -> None:
        await self.providers.aclose()


def build_inference(
    settings: Settings, usage: UsageSink, governance: InferenceGovernance | None = None
) -> InferenceRuntime:
    """Raises core.settings.ConfigError for invalid router_settings (e.g. a fallback to an unknown model)."""
    registry = ModelRegistry.from_settings(settings)
    # usage-based-routing-v2 counts in the rate limiter's windows (shared through Redis when configured).
    limiter = (
        governance.admission.limiter
        if governance is not None
        else FailoverLimiter(MemoryBackend(), None, retry_interval=1.0)
    )
    router = Router(registry, router_settings_of(settings), counters=LimiterCounters(limiter))
    providers = ProviderPool.build(registry.deployments, settings)
    deps = InferenceDeps(
        registry=registry,
        providers=providers,
        usage=usage,
        max_chunks_per_message=settings.stream_max_chunks_per_message,
        max_message_bytes=grpc_message_limit(settings.max_request_body_bytes),
        router=router,
        governance=governance,
    )
    return InferenceRuntime(registry=registry, providers=providers, router=router, deps=deps)


async def add_inference_services(
    server: grpc.aio.Server, settings: Settings, usage: UsageSink, governance: InferenceGovernance | None = None
) -> InferenceRuntime:
    """Registers ChatService, CompletionService, EmbeddingService, MediaService and ModelService on `server`."""
    runtime = build_inference(settings, usage, governance)
    deps = runtime.deps
    chat_service_pb2_grpc.add_ChatServiceServicer_to_server(ChatServicer(ChatInference(deps)), server)
    completion_service_pb2_grpc.add_CompletionServiceServicer_to_server(
        CompletionServicer(CompletionInference(deps)), server
    )
    embedding_service_pb2_grpc.add_EmbeddingServiceServicer_to_server(
        EmbeddingServicer(EmbeddingInference(deps)), server
    )
    media_service_pb2_grpc.add_MediaServiceServicer_to_server(
        MediaServicer(
            SpeechInference(deps),
            ImageInference(deps),
            TranscriptionInference(deps, settings.max_upload_bytes),
        ),
        server,
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(
        ModelServicer(ModelCatalog(runtime.registry), runtime.router, governance), server
    )
    return runtime
