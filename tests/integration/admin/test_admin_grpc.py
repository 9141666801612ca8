"""AdminService over a real grpc.aio server on 127.0.0.1 with the errors and auth interceptors, called
through the generated stubs with `authorization: Bearer ...` metadata."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from aqueduct.v1 import admin_service_pb2 as pb
from aqueduct.v1 import admin_service_pb2_grpc, tenancy_pb2
from core.services.admin import AdminServicer, add_to_server
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from core.auth.authenticator import Authenticator
from core.auth.tokens import hash_secret
from core.db.engine import create_engine, create_sessionmaker
from core.interceptors.auth import AuthInterceptor
from core.interceptors.errors import ErrorsInterceptor
from core.settings import Settings
from core.tenancy import TenancyService

ADMIN = "sk-admin-integration-secret"
TTL = 1.0  # a short cache TTL keeps the cross-replica test fast; the default is 3 s


@dataclass
class Replica:
    server: grpc.aio.Server
    channel: grpc.aio.Channel
    stub: admin_service_pb2_grpc.AdminServiceAsyncStub


async def start_replica(database_url: str, engines: list[object]) -> Replica:
    settings = Settings(database_url=database_url, token_cache_ttl_seconds=TTL, negative_token_cache_ttl_seconds=TTL)
    engine = create_engine(database_url)
    engines.append(engine)
    authenticator = Authenticator(engine, settings, ADMIN)
    server = grpc.aio.server(interceptors=[ErrorsInterceptor(), AuthInterceptor(authenticator)])
    add_to_server(server, AdminServicer(TenancyService(create_sessionmaker(engine), authenticator, settings)))
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    return Replica(server, channel, admin_service_pb2_grpc.AdminServiceStub(channel))


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


def bearer(secret: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {secret}"),)


def reason_of(error: grpc.aio.AioRpcError) -> str:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return str(info.reason)
    return ""


async def test_admin_flow_roles_and_revocation(replicas: list[Replica], database_url: str) -> None:
    a, b = replicas
    boot = bearer(ADMIN)
    org = (await a.stub.CreateOrg(pb.CreateOrgRequest(name="acme"), metadata=boot)).org
    assert org.name == "acme" and org.id and org.create_time.seconds > 0
    user = (await a.stub.CreateUser(pb.CreateUserRequest(email="u@acme.test", org="acme"), metadata=boot)).user
    assert user.role == tenancy_pb2.ROLE_USER
    created = await a.stub.CreateToken(pb.CreateTokenRequest(user_email="u@acme.test", name="laptop"), metadata=boot)
    secret = created.secret
    assert secret.startswith("sk-") and created.token.preview in (secret[:7] + "…" + secret[-4:],)

    # The user's own token works on both replicas and sees only its own tokens.
    for replica in (a, b):
        listed = await replica.stub.ListTokens(pb.ListTokensRequest(), metadata=bearer(secret))
        assert [t.id for t in listed.tokens] == [created.token.id]
        assert listed.tokens[0].user_email == "u@acme.test"

    # ...but cannot create an org.
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await a.stub.CreateOrg(pb.CreateOrgRequest(name="evil"), metadata=bearer(secret))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(denied.value) == "PERMISSION_DENIED"

    # No credentials, garbage credentials.
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await a.stub.ListOrgs(pb.ListOrgsRequest())
    assert (missing.value.code(), reason_of(missing.value)) == (grpc.StatusCode.UNAUTHENTICATED, "MISSING_CREDENTIALS")
    with pytest.raises(grpc.aio.AioRpcError) as garbage:
        await a.stub.ListOrgs(pb.ListOrgsRequest(), metadata=bearer("sk-" + "x" * 43))
    assert (garbage.value.code(), reason_of(garbage.value)) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN")

    # The health service is public.
    health_stub: Any = health_pb2_grpc.HealthStub(a.channel)
    assert (await health_stub.Check(health_pb2.HealthCheckRequest())).status == health_pb2.HealthCheckResponse.SERVING

    # The secret is never stored: only its hash is in the SQLite file (and its WAL).
    if database_url.startswith("sqlite"):
        path = Path(make_url(database_url).database or "")
        stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert hash_secret(secret).encode() in stored
        assert secret.encode() not in stored
        assert secret.removeprefix("sk-").encode() not in stored

    # Deleted on replica A: refused there at once, and on replica B within its cache TTL.
    await a.stub.DeleteToken(pb.DeleteTokenRequest(id=created.token.id), metadata=boot)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await a.stub.ListTokens(pb.ListTokensRequest(), metadata=bearer(secret))
    assert gone.value.code() == grpc.StatusCode.UNAUTHENTICATED
    deadline = time.monotonic() + TTL + 2.0
    while True:
        try:
            await b.stub.ListTokens(pb.ListTokensRequest(), metadata=bearer(secret))
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
            break
        assert time.monotonic() < deadline, "deleted token still accepted after the cache TTL"
        await asyncio.sleep(0.05)


async def test_errors_carry_field_and_pagination_round_trips(replicas: list[Replica]) -> None:
    a = replicas[0]
    boot = bearer(ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await a.stub.CreateUser(pb.CreateUserRequest(email="nope", org="acme"), metadata=boot)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    for i in range(5):
        await a.stub.CreateOrg(pb.CreateOrgRequest(name=f"org{i}"), metadata=boot)
    with pytest.raises(grpc.aio.AioRpcError) as dup:
        await a.stub.CreateOrg(pb.CreateOrgRequest(name="org0"), metadata=boot)
    assert dup.value.code() == grpc.StatusCode.ALREADY_EXISTS
    names: list[str] = []
    token = ""
    while True:
        page = await a.stub.ListOrgs(pb.ListOrgsRequest(page_size=2, page_token=token), metadata=boot)
        names += [o.name for o in page.orgs]
        token = page.next_page_token
        if not token:
            break
    assert names == [f"org{i}" for i in range(5)]

    # Service accounts end to end: the account's token authenticates and sees only itself.
    await a.stub.CreateUser(pb.CreateUserRequest(email="lead@org0.test", org="org0"), metadata=boot)
    await a.stub.CreateTeam(pb.CreateTeamRequest(name="eng", org="org0"), metadata=boot)
    await a.stub.AddTeamMember(
        pb.AddTeamMemberRequest(team="eng", org="org0", email="lead@org0.test", team_admin=True), metadata=boot
    )
    created = await a.stub.CreateServiceAccount(
        pb.CreateServiceAccountRequest(name="bot", team="eng", org="org0", owner_email="lead@org0.test"), metadata=boot
    )
    own = await a.stub.ListTokens(pb.ListTokensRequest(), metadata=bearer(created.secret))
    assert [(t.id, t.service_account) for t in own.tokens] == [(created.service_account.token_id, "bot")]
