"""Core's tenancy services on real grpc.aio servers on 127.0.0.1 (with the errors and auth interceptors, as
core.server registers them), called through the generated stubs with `authorization: Bearer ...`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from aqueduct_client.cli._connection import Admin
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2_grpc

from core.auth.authenticator import Authenticator
from core.db.engine import create_engine, create_sessionmaker
from core.interceptors.auth import AuthInterceptor
from core.interceptors.errors import ErrorsInterceptor
from core.server import add_tenancy_services
from core.settings import Settings
from core.tenancy import Tenancy

ADMIN = "sk-admin-integration-secret"
TTL = 1.0  # a short cache TTL keeps the cross-replica test fast; the default is 3 s


@dataclass
class Replica:
    server: grpc.aio.Server
    channel: grpc.aio.Channel
    stubs: Admin  # the five tenancy stubs over this replica's channel


async def start_replica(database_url: str, engines: list[object]) -> Replica:
    settings = Settings(database_url=database_url, token_cache_ttl_seconds=TTL, negative_token_cache_ttl_seconds=TTL)
    engine = create_engine(database_url)
    engines.append(engine)
    authenticator = Authenticator(engine, settings, ADMIN)
    server = grpc.aio.server(interceptors=[ErrorsInterceptor(), AuthInterceptor(authenticator)])
    add_tenancy_services(server, Tenancy.create(create_sessionmaker(engine), authenticator, settings))
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    return Replica(server, channel, Admin.over(channel))  # type: ignore[arg-type]


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[list[Replica]]:
    engines: list[object] = []
    started = [await start_replica(database_url, engines), await start_replica(database_url, engines)]
    try:
        yield started
    finally:
        for replica in started:
            await replica.channel.close()
            await replica.server.stop(None)
        for engine in engines:
            await engine.dispose()  # type: ignore[attr-defined]


@pytest.fixture
async def replica(replicas: list[Replica]) -> Replica:
    return replicas[0]


def bearer(secret: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {secret}"),)


BOOT = bearer(ADMIN)


def error_details(error: grpc.aio.AioRpcError) -> tuple[str, list[str]]:
    """The ErrorInfo reason and the BadRequest field names of a failed call."""
    reason, fields = "", []
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                bad = error_details_pb2.BadRequest()
                if detail.Unpack(info):
                    reason = str(info.reason)
                elif detail.Unpack(bad):
                    fields += [v.field for v in bad.field_violations]
    return reason, fields


def reason_of(error: grpc.aio.AioRpcError) -> str:
    return error_details(error)[0]
