"""Builds and runs core's grpc.aio server: interceptors, services, health, reflection, graceful stop."""

from __future__ import annotations

import asyncio
import logging

import grpc
from aqueduct.v1 import (
    batch_service_pb2,
    chat_service_pb2,
    completion_service_pb2,
    embedding_service_pb2,
    file_service_pb2,
    governance_service_pb2,
    mcp_service_pb2,
    mcp_service_pb2_grpc,
    model_service_pb2,
    org_service_pb2,
    org_service_pb2_grpc,
    service_account_service_pb2,
    service_account_service_pb2_grpc,
    team_service_pb2,
    team_service_pb2_grpc,
    token_service_pb2,
    token_service_pb2_grpc,
    usage_service_pb2,
    user_service_pb2,
    user_service_pb2_grpc,
)
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy.ext.asyncio import AsyncEngine

from aqueduct_contract import RATE_LIMIT_HEALTH_SERVICE, grpc_message_limit
from core.auth.authenticator import Authenticator
from core.db.engine import create_engine, create_sessionmaker
from core.db.migrate import upgrade
from core.governance.limits.runtime import GovernanceRuntime, start_governance
from core.interceptors.auth import AuthInterceptor
from core.interceptors.errors import ErrorsInterceptor
from core.mcp.proxy import McpProxy
from core.mcp.registry import McpRegistry
from core.mcp.sessions import SessionStore
from core.mcp.upstream import McpUpstream
from core.providers.http_session import HTTPPoolSettings
from core.services.files_batches_deps import FilesAndBatches, add_file_and_batch_services
from core.services.governance import GovernanceServicer
from core.services.inference_deps import InferenceRuntime, add_inference_services
from core.services.mcp import McpServicer
from core.services.orgs import OrgServicer
from core.services.service_accounts import ServiceAccountServicer
from core.services.teams import TeamServicer
from core.services.tokens import TokenServicer
from core.services.usage import UsageServicer
from core.services.users import UserServicer
from core.settings import Settings
from core.tenancy import Tenancy
from core.transport import LocalChannel, LocalChannelSettings, RecordingServer
from core.usage.recorder import UsageRecorder
from core.usage.reporting import UsageReporting
from core.usage.retention import RetentionPurger
from core.usage.spool import open_spool

log = logging.getLogger("aqueduct.core")

_SERVICE_NAMES = (
    chat_service_pb2.DESCRIPTOR.services_by_name["ChatService"].full_name,
    completion_service_pb2.DESCRIPTOR.services_by_name["CompletionService"].full_name,
    embedding_service_pb2.DESCRIPTOR.services_by_name["EmbeddingService"].full_name,
    model_service_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name,
    org_service_pb2.DESCRIPTOR.services_by_name["OrgService"].full_name,
    user_service_pb2.DESCRIPTOR.services_by_name["UserService"].full_name,
    team_service_pb2.DESCRIPTOR.services_by_name["TeamService"].full_name,
    token_service_pb2.DESCRIPTOR.services_by_name["TokenService"].full_name,
    service_account_service_pb2.DESCRIPTOR.services_by_name["ServiceAccountService"].full_name,
    governance_service_pb2.DESCRIPTOR.services_by_name["GovernanceService"].full_name,
    usage_service_pb2.DESCRIPTOR.services_by_name["UsageService"].full_name,
    mcp_service_pb2.DESCRIPTOR.services_by_name["McpService"].full_name,
    file_service_pb2.DESCRIPTOR.services_by_name["FileService"].full_name,
    batch_service_pb2.DESCRIPTOR.services_by_name["BatchService"].full_name,
)


def add_tenancy_services(server: grpc.aio.Server, tenancy: Tenancy) -> None:
    """The five tenancy services (orgs, users, teams with members, tokens, service accounts)."""
    org_service_pb2_grpc.add_OrgServiceServicer_to_server(OrgServicer(tenancy.orgs), server)
    user_service_pb2_grpc.add_UserServiceServicer_to_server(UserServicer(tenancy.users), server)
    team_service_pb2_grpc.add_TeamServiceServicer_to_server(TeamServicer(tenancy.teams, tenancy.members), server)
    token_service_pb2_grpc.add_TokenServiceServicer_to_server(TokenServicer(tenancy.tokens), server)
    service_account_service_pb2_grpc.add_ServiceAccountServiceServicer_to_server(
        ServiceAccountServicer(tenancy.service_accounts), server
    )


class CoreServer:
    """One core replica. start() migrates the database, wires the services and binds; stop() drains."""

    def __init__(self, settings: Settings, *, admin_token: str | None, reuse_port: bool = False) -> None:
        """`reuse_port`: bind the gRPC port with SO_REUSEPORT (`aqueduct serve --workers N`: every worker
        serves the same port); otherwise a port in use is an error."""
        self.settings = settings
        self._admin_token = admin_token
        self._reuse_port = reuse_port
        self._recording: RecordingServer | None = None
        self._interceptors: list[grpc.aio.ServerInterceptor] = []
        self._server: grpc.aio.Server | None = None
        self._engine: AsyncEngine | None = None
        self._usage: UsageRecorder | None = None
        self._inference: InferenceRuntime | None = None
        self._mcp_upstream: McpUpstream | None = None
        self._governance: GovernanceRuntime | None = None
        self._retention: RetentionPurger | None = None
        self._files_batches: FilesAndBatches | None = None
        self._health_updates: set[asyncio.Task[None]] = set()
        self._health = health.aio.HealthServicer()
        self.port: int = 0

    async def start(self, address: str | None = None) -> int:
        settings = self.settings
        await asyncio.to_thread(upgrade, settings.database_url)
        self._engine = engine = create_engine(settings.database_url)
        authenticator = Authenticator(engine, settings, self._admin_token)
        self._usage = UsageRecorder(engine, settings, spool=open_spool(settings))
        await self._usage.recover()
        await self._usage.start()
        self._governance = governance = await start_governance(
            engine, settings, on_redis_status=self._redis_status_changed
        )
        self._retention = RetentionPurger(engine, settings)
        self._retention.start()
        if self._reuse_port and not settings.redis_url:
            log.warning("several workers without redis_url: each worker enforces rate limits on its own")

        self._interceptors = [
            ErrorsInterceptor(),
            AuthInterceptor(authenticator, facade_secret=settings.facade_secret),
        ]
        message_limit = grpc_message_limit(settings.max_request_body_bytes)
        # RecordingServer keeps a table of every handler registered below, for local_channel().
        server = self._recording = RecordingServer(
            grpc.aio.server(
                interceptors=self._interceptors,
                options=[
                    ("grpc.max_send_message_length", message_limit),
                    ("grpc.max_receive_message_length", message_limit),
                    ("grpc.so_reuseport", 1 if self._reuse_port else 0),
                ],
            )
        )
        add_tenancy_services(server, Tenancy.create(create_sessionmaker(engine), authenticator, settings))
        from aqueduct.v1 import governance_service_pb2_grpc, usage_service_pb2_grpc

        governance_service_pb2_grpc.add_GovernanceServiceServicer_to_server(
            GovernanceServicer(governance.limits_admin, governance.exclusions_admin), server
        )
        usage_service_pb2_grpc.add_UsageServiceServicer_to_server(
            UsageServicer(UsageReporting(engine, settings)), server
        )
        self._inference = await add_inference_services(server, settings, self._usage, governance.inference)
        self._mcp_upstream = McpUpstream(
            HTTPPoolSettings(
                max_connections_per_host=settings.upstream_max_connections,
                keepalive_expiry_seconds=settings.upstream_keepalive_expiry_seconds,
            )
        )
        mcp_proxy = McpProxy(
            McpRegistry.from_settings(settings),
            SessionStore(engine, settings.mcp_session_idle_timeout_seconds),
            self._mcp_upstream,
            self._usage,
            exclusions=governance.exclusions,
            admission=governance.admission,
        )
        mcp_service_pb2_grpc.add_McpServiceServicer_to_server(McpServicer(mcp_proxy), server)
        self._files_batches = add_file_and_batch_services(server, settings, engine, self._inference.deps)
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
        if governance.limiter.redis_configured:
            self._redis_status_changed(governance.limiter.redis_up)
        log.info("core listening on %s", bind.rsplit(":", 1)[0] + f":{self.port}")
        return self.port

    async def stop(self, grace: float | None = None) -> None:
        """Stop accepting RPCs, let in-flight ones finish within `grace`, then flush usage and close pools."""
        log.info("core stopping")
        await self._health.enter_graceful_shutdown()
        if self._server is not None:
            await self._server.stop(self.settings.shutdown_grace_seconds if grace is None else grace)
        if self._files_batches is not None:
            await self._files_batches.aclose()
        if self._inference is not None:
            await self._inference.aclose()
        if self._mcp_upstream is not None:
            await self._mcp_upstream.aclose()
        if self._retention is not None:
            await self._retention.aclose()
        if self._governance is not None:
            await self._governance.aclose()
        if self._usage is not None:
            await self._usage.close()
        if self._engine is not None:
            await self._engine.dispose()
        log.info("core stopped")

    def local_channel(self, settings: LocalChannelSettings | None = None) -> LocalChannel:
        """An in-process channel to this core (after start()): the same handlers and interceptors as the
        network port, without serialization or sockets. `aqueduct serve` gives it to the façade."""
        if self._recording is None:
            raise RuntimeError("CoreServer.local_channel() needs a started server")
        return LocalChannel(self._recording.table, self._interceptors, settings)

    @property
    def governance(self) -> GovernanceRuntime | None:
        return self._governance

    def _redis_status_changed(self, up: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if up else health_pb2.HealthCheckResponse.NOT_SERVING
        task = asyncio.get_running_loop().create_task(self._health.set(RATE_LIMIT_HEALTH_SERVICE, status))
        self._health_updates.add(task)
        task.add_done_callback(self._health_updates.discard)

    async def wait_for_termination(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()
