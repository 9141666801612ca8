"""The tenancy services end to end over gRPC: roles, revocation across replicas, secrets never stored,
service accounts authenticating as themselves."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from aqueduct.v1 import (
    org_service_pb2,
    service_account_pb2,
    service_account_service_pb2,
    team_pb2,
    team_service_pb2,
    token_pb2,
    token_service_pb2,
    user_pb2,
    user_service_pb2,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from core.auth.tokens import hash_secret
from tests.integration.admin.tenancy_replicas import BOOT, TTL, Replica, bearer, error_details, reason_of


async def test_admin_flow_roles_and_revocation(replicas: list[Replica], database_url: str) -> None:
    a, b = replicas
    org = (await a.stubs.orgs.CreateOrg(org_service_pb2.CreateOrgRequest(org_id="acme"), metadata=BOOT)).org
    assert org.name == "orgs/acme" and org.uid and org.create_time.seconds > 0
    new_user = user_service_pb2.CreateUserRequest(user_id="U@Acme.test", user=user_pb2.User(org="orgs/acme"))
    user = (await a.stubs.users.CreateUser(new_user, metadata=BOOT)).user
    assert (user.name, user.org, user.role) == ("users/u@acme.test", "orgs/acme", user_pb2.ROLE_USER)
    request = token_service_pb2.CreateTokenRequest(token=token_pb2.Token(user=user.name, display_name="laptop"))
    created = await a.stubs.tokens.CreateToken(request, metadata=BOOT)
    secret = created.secret
    assert secret.startswith("sk-") and created.token.preview == secret[:7] + "…" + secret[-4:]
    assert created.token.name.startswith("tokens/") and created.token.user == "users/u@acme.test"

    # The user's own token works on both replicas and sees only its own tokens, never a secret.
    for replica in (a, b):
        listed = await replica.stubs.tokens.ListTokens(token_service_pb2.ListTokensRequest(), metadata=bearer(secret))
        assert [t.name for t in listed.tokens] == [created.token.name]
        got = await replica.stubs.tokens.GetToken(
            token_service_pb2.GetTokenRequest(name=created.token.name), metadata=bearer(secret)
        )
        assert secret not in str(got) and got.token.display_name == "laptop"

    # ...but cannot create an org.
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await a.stubs.orgs.CreateOrg(org_service_pb2.CreateOrgRequest(org_id="evil"), metadata=bearer(secret))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason_of(denied.value) == "PERMISSION_DENIED"

    # No credentials, garbage credentials.
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await a.stubs.orgs.ListOrgs(org_service_pb2.ListOrgsRequest())
    assert (missing.value.code(), reason_of(missing.value)) == (grpc.StatusCode.UNAUTHENTICATED, "MISSING_CREDENTIALS")
    with pytest.raises(grpc.aio.AioRpcError) as garbage:
        await a.stubs.orgs.ListOrgs(org_service_pb2.ListOrgsRequest(), metadata=bearer("sk-" + "x" * 43))
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
    await a.stubs.tokens.DeleteToken(token_service_pb2.DeleteTokenRequest(name=created.token.name), metadata=BOOT)
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await a.stubs.tokens.ListTokens(token_service_pb2.ListTokensRequest(), metadata=bearer(secret))
    assert gone.value.code() == grpc.StatusCode.UNAUTHENTICATED
    deadline = time.monotonic() + TTL + 2.0
    while True:
        try:
            await b.stubs.tokens.ListTokens(token_service_pb2.ListTokensRequest(), metadata=bearer(secret))
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
            break
        assert time.monotonic() < deadline, "deleted token still accepted after the cache TTL"
        await asyncio.sleep(0.05)


async def test_errors_carry_the_field(replica: Replica) -> None:
    bad_email = user_service_pb2.CreateUserRequest(user_id="nope", user=user_pb2.User(org="orgs/acme"))
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await replica.stubs.users.CreateUser(bad_email, metadata=BOOT)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(bad.value) == ("INVALID_REQUEST", ["user_id"])
    with pytest.raises(grpc.aio.AioRpcError) as malformed:
        await replica.stubs.teams.GetTeam(team_service_pb2.GetTeamRequest(name="teams/eng"), metadata=BOOT)
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "orgs/{org}/teams/{team}" in (malformed.value.details() or "")
    await replica.stubs.orgs.CreateOrg(org_service_pb2.CreateOrgRequest(org_id="org0"), metadata=BOOT)
    with pytest.raises(grpc.aio.AioRpcError) as dup:
        await replica.stubs.orgs.CreateOrg(org_service_pb2.CreateOrgRequest(org_id="org0"), metadata=BOOT)
    assert dup.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert error_details(dup.value) == ("ALREADY_EXISTS", ["org_id"])


async def test_service_account_token_authenticates_as_the_account(replica: Replica) -> None:
    s = replica.stubs
    await s.orgs.CreateOrg(org_service_pb2.CreateOrgRequest(org_id="org0"), metadata=BOOT)
    lead = user_pb2.User(org="orgs/org0")
    await s.users.CreateUser(user_service_pb2.CreateUserRequest(user_id="lead@org0.test", user=lead), metadata=BOOT)
    await s.teams.CreateTeam(team_service_pb2.CreateTeamRequest(parent="orgs/org0", team_id="eng"), metadata=BOOT)
    member = team_pb2.TeamMember(user="users/lead@org0.test", team_admin=True)
    added = await s.teams.CreateTeamMember(
        team_service_pb2.CreateTeamMemberRequest(parent="orgs/org0/teams/eng", team_member=member), metadata=BOOT
    )
    assert added.team_member.name == "orgs/org0/teams/eng/members/lead@org0.test"
    created = await s.service_accounts.CreateServiceAccount(
        service_account_service_pb2.CreateServiceAccountRequest(
            parent="orgs/org0/teams/eng",
            service_account_id="bot",
            service_account=service_account_pb2.ServiceAccount(owner="users/lead@org0.test"),
        ),
        metadata=BOOT,
    )
    account = created.service_account
    assert (account.name, account.owner) == ("orgs/org0/teams/eng/serviceAccounts/bot", "users/lead@org0.test")
    own = await s.tokens.ListTokens(token_service_pb2.ListTokensRequest(), metadata=bearer(created.secret))
    assert [(t.name, t.service_account) for t in own.tokens] == [(account.token, account.name)]
    # A service account manages nothing, not even itself.
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await s.tokens.RegenerateToken(
            token_service_pb2.RegenerateTokenRequest(name=account.token), metadata=bearer(created.secret)
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
