"""Builds and runs core's grpc.aio server: interceptors, services, health, reflection, graceful stop."""

from __future__ import annotations

import asyncio
import logging

import grpc
from aqueduct.v1 import (
    admin_service_pb2,
    chat_service_pb2,
    completion_service_pb2,
    embedding_service_pb2,
    model_service_pb2,
)
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.authenticator import Authenticator
from core.db.engine import create_engine, create_sessionmaker
from core.db.migrate import upgrade
from core.interceptors.auth import AuthInterceptor
from core.interceptors.errors import ErrorsInterceptor
from core.services.admin import AdminServicer
from core.services.inference_deps import InferenceRuntime, add_inference_services
from core.settings import Settings
from core.tenancy.service import TenancyService
from core.usage.recorder import UsageRecorder

log = logging.getLogger("aqueduct.core")

_SERVICE_NAMES = (
    chat_service_pb2.DESCRIPTOR.services_by_name["ChatService"].full_name,
    completion_service_pb2.DESCRIPTOR.services_by_name["CompletionService"].full_name,
    embedding_service_pb2.DESCRIPTOR.services_by_name["EmbeddingService"].full_name,
    model_service_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name,
    admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name,
)
# Health and reflection answer without a token: load balancers and grpcurl must reach them.
PUBLIC_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

# Messages carry whole embedding batches and long prompts; gRPC's 4 MB default is too small.
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class CoreServer:
    """One core replica. start() migrates the database, wires the services and binds; stop() drains."""

    def __init__(self, settings: Settings, *, admin_token: str | None) -> None:
        self.settings = settings
        self._admin_token = admin_token
        self._server: grpc.aio.Server | None = None
        self._engine: AsyncEngine | None = None
        self._usage: UsageRecorder | None = None
        self._inference: InferenceRuntime | None = None
        self._health = health.aio.HealthServicer()
        self.port: int = 0

    async def start(self, address: str | None = None) -> int:
        settings = self.settings
        await asyncio.to_thread(upgrade, settings.database_url)
        self._engine = engine = create_engine(settings.database_url)
        authenticator = Authenticator(engine, settings, self._admin_token)
        self._usage = UsageRecorder(engine, settings)
        await self._usage.start()

        server = grpc.aio.server(
            interceptors=[ErrorsInterceptor(), AuthInterceptor(authenticator, PUBLIC_METHOD_PREFIXES)],
            options=[
                ("grpc.max_send_message_length", _MAX_MESSAGE_BYTES),
                ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        tenancy = TenancyService(create_sessionmaker(engine), authenticator, settings)
        from aqueduct.v1 import admin_service_pb2_grpc

        admin_service_pb2_grpc.add_AdminServiceServicer_to_server(AdminServicer(tenancy), server)
        self._inference = await add_inference_services(server, settings, self._usage)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection((*_SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)

        bind = address or f"{settings.grpc_host}:{settings.grpc_port}"
        self.port = server.add_insecure_port(bind)
        if self.port == 0:
            raise OSError(f"cannot bind core's gRPC port at {bind}")
        await server.start()
        self._server = server
        for name in ("", *_SERVICE_NAMES):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("core listening on %s", bind.rsplit(":", 1)[0] + f":{self.port}")
        return self.port

    async def stop(self, grace: float | None = None) -> None:
        """Stop accepting RPCs, let in-flight ones finish within `grace`, then flush usage and close pools."""
        await self._health.enter_graceful_shutdown()
        if self._server is not None:
            await self._server.stop(self.settings.shutdown_grace_seconds if grace is None else grace)
        if self._inference is not None:
            await self._inference.aclose()
        if self._usage is not None:
            await self._usage.close()
        if self._engine is not None:
            await self._engine.dispose()

    async def wait_for_termination(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()
