"""The AIP parts of the tenancy contract over gRPC: Get and Update with update_mask (unknown and immutable
paths), AIP-158 paging edges, and another org's resources answering exactly like absent ones."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from tests.integration.admin.tenancy_replicas import BOOT, Replica, bearer, error_details


@dataclass
class Tenants:
    """Two orgs, each with an org-admin, a user with a token, a team and a service account."""

    stubs: Any
    secrets: dict[str, str]  # actor -> token secret
    tokens: dict[str, str]  # org -> the user's token name
    accounts: dict[str, str]  # org -> the service account's token name


async def _org(s: Any, org: str) -> tuple[str, str, str, str]:
    """(org-admin secret, user secret, user token name, account token name)."""
    await s.orgs.CreateOrg(org_service_pb2.CreateOrgRequest(org_id=org), metadata=BOOT)
    secrets, names = [], []
    for who, role in (("oa", user_pb2.ROLE_ORG_ADMIN), ("u", user_pb2.ROLE_USER)):
        user = user_pb2.User(org=f"orgs/{org}", role=role)
        email = f"{who}@{org}.test"
        await s.users.CreateUser(user_service_pb2.CreateUserRequest(user_id=email, user=user), metadata=BOOT)
        token = token_pb2.Token(user=f"users/{email}", display_name="t")
        created = await s.tokens.CreateToken(token_service_pb2.CreateTokenRequest(token=token), metadata=BOOT)
        secrets.append(created.secret)
        names.append(created.token.name)
    await s.teams.CreateTeam(team_service_pb2.CreateTeamRequest(parent=f"orgs/{org}", team_id="eng"), metadata=BOOT)
    member = team_pb2.TeamMember(user=f"users/u@{org}.test", team_admin=True)
    await s.teams.CreateTeamMember(
        team_service_pb2.CreateTeamMemberRequest(parent=f"orgs/{org}/teams/eng", team_member=member), metadata=BOOT
    )
    account = await s.service_accounts.CreateServiceAccount(
        service_account_service_pb2.CreateServiceAccountRequest(
            parent=f"orgs/{org}/teams/eng",
            service_account_id="bot",
            service_account=service_account_pb2.ServiceAccount(owner=f"users/u@{org}.test"),
        ),
        metadata=BOOT,
    )
    return secrets[0], secrets[1], names[1], account.service_account.token


@pytest.fixture
async def tenants(replica: Replica) -> Tenants:
    t = Tenants(replica.stubs, {}, {}, {})
    for org in ("acme", "globex"):
        oa, u, token, account = await _org(replica.stubs, org)
        t.secrets[f"oa-{org}"], t.secrets[f"u-{org}"] = oa, u
        t.tokens[org], t.accounts[org] = token, account
    return t


def _mask(*paths: str) -> FieldMask:
    return FieldMask(paths=list(paths))


async def _fails(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


async def test_get_returns_what_list_shows(tenants: Tenants) -> None:
    s = tenants.stubs
    org = (await s.orgs.GetOrg(org_service_pb2.GetOrgRequest(name="orgs/acme"), metadata=BOOT)).org
    listed = (await s.orgs.ListOrgs(org_service_pb2.ListOrgsRequest(), metadata=BOOT)).orgs
    assert org in listed
    team = (await s.teams.GetTeam(team_service_pb2.GetTeamRequest(name="orgs/acme/teams/eng"), metadata=BOOT)).team
    assert team.name == "orgs/acme/teams/eng"
    member = await s.teams.GetTeamMember(
        team_service_pb2.GetTeamMemberRequest(name="orgs/acme/teams/eng/members/u@acme.test"), metadata=BOOT
    )
    assert (member.team_member.user, member.team_member.team_admin) == ("users/u@acme.test", True)
    account = await s.service_accounts.GetServiceAccount(
        service_account_service_pb2.GetServiceAccountRequest(name="orgs/acme/teams/eng/serviceAccounts/bot"),
        metadata=BOOT,
    )
    assert account.service_account.token == tenants.accounts["acme"]


async def test_update_user_role_with_a_mask(tenants: Tenants) -> None:
    s = tenants.stubs
    oa = bearer(tenants.secrets["oa-acme"])
    promote = user_service_pb2.UpdateUserRequest(
        user=user_pb2.User(name="users/u@acme.test", role=user_pb2.ROLE_ORG_ADMIN), update_mask=_mask("role")
    )
    assert (await s.users.UpdateUser(promote, metadata=oa)).user.role == user_pb2.ROLE_ORG_ADMIN
    got = await s.users.GetUser(user_service_pb2.GetUserRequest(name="users/u@acme.test"), metadata=oa)
    assert got.user.role == user_pb2.ROLE_ORG_ADMIN
    # An org-admin cannot make an admin.
    to_admin = user_service_pb2.UpdateUserRequest(
        user=user_pb2.User(name="users/u@acme.test", role=user_pb2.ROLE_ADMIN), update_mask=_mask("role")
    )
    assert (await _fails(s.users.UpdateUser(to_admin, metadata=oa))).code() == grpc.StatusCode.PERMISSION_DENIED
    # No mask: the set mutable fields (here role).
    implied = user_service_pb2.UpdateUserRequest(user=user_pb2.User(name="users/u@acme.test", role=user_pb2.ROLE_USER))
    assert (await s.users.UpdateUser(implied, metadata=oa)).user.role == user_pb2.ROLE_USER


@pytest.mark.parametrize(
    ("paths", "message"),
    [(("org",), "cannot be changed"), (("name",), "cannot be changed"), (("rol",), "unknown field")],
)
async def test_update_mask_rejects_immutable_and_unknown_paths(
    tenants: Tenants, paths: tuple[str, ...], message: str
) -> None:
    request = user_service_pb2.UpdateUserRequest(
        user=user_pb2.User(name="users/u@acme.test", org="orgs/globex", role=user_pb2.ROLE_ADMIN),
        update_mask=_mask(*paths),
    )
    error = await _fails(tenants.stubs.users.UpdateUser(request, metadata=BOOT))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error) == ("INVALID_REQUEST", ["update_mask"])
    assert message in (error.details() or "")
    got = await tenants.stubs.users.GetUser(user_service_pb2.GetUserRequest(name="users/u@acme.test"), metadata=BOOT)
    assert (got.user.org, got.user.role) == ("orgs/acme", user_pb2.ROLE_USER)  # nothing changed


async def test_update_token_renames_and_changes_expiry(tenants: Tenants) -> None:
    s = tenants.stubs
    own = bearer(tenants.secrets["u-acme"])
    name = tenants.tokens["acme"]
    expiry = Timestamp()
    expiry.FromDatetime(datetime.now(UTC) + timedelta(days=30))
    token = token_pb2.Token(name=name, display_name="laptop", expire_time=expiry, preview="ignored")
    request = token_service_pb2.UpdateTokenRequest(token=token, update_mask=_mask("display_name", "expire_time"))
    updated = (await s.tokens.UpdateToken(request, metadata=own)).token
    assert (updated.display_name, updated.expire_time.seconds) == ("laptop", expiry.seconds)
    # In the mask but unset: never expires. The token still works after its own update.
    never = token_service_pb2.UpdateTokenRequest(token=token_pb2.Token(name=name), update_mask=_mask("expire_time"))
    updated = (await s.tokens.UpdateToken(never, metadata=own)).token
    assert not updated.HasField("expire_time") and updated.display_name == "laptop"
    for bad, field in (("preview", "update_mask"), ("user", "update_mask"), ("secret", "update_mask")):
        rejected = token_service_pb2.UpdateTokenRequest(token=token_pb2.Token(name=name), update_mask=_mask(bad))
        error = await _fails(s.tokens.UpdateToken(rejected, metadata=own))
        assert (error.code(), error_details(error)[1]) == (grpc.StatusCode.INVALID_ARGUMENT, [field])
    empty = token_service_pb2.UpdateTokenRequest(token=token_pb2.Token(name=name))
    assert (await _fails(s.tokens.UpdateToken(empty, metadata=own))).code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_team_member_upsert_and_service_account_owner(tenants: Tenants) -> None:
    s = tenants.stubs
    name = "orgs/acme/teams/eng/members/oa@acme.test"
    missing = team_service_pb2.UpdateTeamMemberRequest(
        team_member=team_pb2.TeamMember(name=name, team_admin=True), update_mask=_mask("team_admin")
    )
    assert (await _fails(s.teams.UpdateTeamMember(missing, metadata=BOOT))).code() == grpc.StatusCode.NOT_FOUND
    missing.allow_missing = True
    assert (await s.teams.UpdateTeamMember(missing, metadata=BOOT)).team_member.team_admin
    demote = team_service_pb2.UpdateTeamMemberRequest(team_member=team_pb2.TeamMember(name=name, team_admin=False))
    assert not (await s.teams.UpdateTeamMember(demote, metadata=BOOT)).team_member.team_admin  # empty mask
    bad = team_service_pb2.UpdateTeamMemberRequest(
        team_member=team_pb2.TeamMember(name=name, user="users/u@acme.test"), update_mask=_mask("user")
    )
    assert (await _fails(s.teams.UpdateTeamMember(bad, metadata=BOOT))).code() == grpc.StatusCode.INVALID_ARGUMENT

    handover = service_account_service_pb2.UpdateServiceAccountRequest(
        service_account=service_account_pb2.ServiceAccount(
            name="orgs/acme/teams/eng/serviceAccounts/bot", owner="users/oa@acme.test"
        ),
        update_mask=_mask("owner"),
    )
    updated = await s.service_accounts.UpdateServiceAccount(handover, metadata=BOOT)
    assert updated.service_account.owner == "users/oa@acme.test"
    token = await s.tokens.GetToken(token_service_pb2.GetTokenRequest(name=tenants.accounts["acme"]), metadata=BOOT)
    assert token.token.user == "users/oa@acme.test"


async def test_page_size_edges_and_tokens(replica: Replica) -> None:
    s = replica.stubs
    count = DEFAULT_PAGE_SIZE + 3
    for i in range(count):
        await s.orgs.CreateOrg(org_service_pb2.CreateOrgRequest(org_id=f"org{i:03d}"), metadata=BOOT)

    async def page(size: int, token: str = "") -> Any:
        return await s.orgs.ListOrgs(org_service_pb2.ListOrgsRequest(page_size=size, page_token=token), metadata=BOOT)

    default = await page(0)
    assert len(default.orgs) == DEFAULT_PAGE_SIZE and default.next_page_token
    assert len((await page(0, default.next_page_token)).orgs) == 3
    oversize = await page(MAX_PAGE_SIZE + 1)
    assert (len(oversize.orgs), oversize.next_page_token) == (count, "")
    negative = await _fails(page(-1))
    assert (negative.code(), error_details(negative)[1]) == (grpc.StatusCode.INVALID_ARGUMENT, ["page_size"])
    for bad in ("garbage!", "e30", default.next_page_token[:-2]):
        error = await _fails(page(5, bad))
        assert (error.code(), error_details(error)[1]) == (grpc.StatusCode.INVALID_ARGUMENT, ["page_token"])
    walked, token = [], ""
    while True:
        result = await page(7, token)
        walked += [o.name for o in result.orgs]
        token = result.next_page_token
        if not token:
            break
    assert walked == [f"orgs/org{i:03d}" for i in range(count)]


async def test_a_page_token_of_another_listing_is_rejected(tenants: Tenants) -> None:
    s = tenants.stubs
    first = await s.users.ListUsers(user_service_pb2.ListUsersRequest(org="orgs/acme", page_size=1), metadata=BOOT)
    replay = user_service_pb2.ListUsersRequest(org="orgs/globex", page_size=1, page_token=first.next_page_token)
    error = await _fails(s.users.ListUsers(replay, metadata=BOOT))
    assert (error.code(), error_details(error)[1]) == (grpc.StatusCode.INVALID_ARGUMENT, ["page_token"])


# Resource -> a call by globex's actor on (acme's existing resource | an absent one).
Probe = Callable[[Any, Tenants, bool, Any], Awaitable[object]]


def _name(existing: bool, real: str, absent: str) -> str:
    return real if existing else absent


PROBES: dict[str, Probe] = {
    "org": lambda s, t, e, md: s.orgs.GetOrg(
        org_service_pb2.GetOrgRequest(name=_name(e, "orgs/acme", "orgs/nope")), metadata=md
    ),
    "user": lambda s, t, e, md: s.users.DeleteUser(
        user_service_pb2.DeleteUserRequest(name=_name(e, "users/u@acme.test", "users/nobody@acme.test")), metadata=md
    ),
    "team": lambda s, t, e, md: s.teams.ListTeamMembers(
        team_service_pb2.ListTeamMembersRequest(parent=_name(e, "orgs/acme/teams/eng", "orgs/acme/teams/nope")),
        metadata=md,
    ),
    "team_member": lambda s, t, e, md: s.teams.DeleteTeamMember(
        team_service_pb2.DeleteTeamMemberRequest(
            name=_name(e, "orgs/acme/teams/eng/members/u@acme.test", "orgs/acme/teams/eng/members/no@acme.test")
        ),
        metadata=md,
    ),
    "token": lambda s, t, e, md: s.tokens.RegenerateToken(
        token_service_pb2.RegenerateTokenRequest(name=_name(e, t.tokens["acme"], "tokens/" + "0" * 32)), metadata=md
    ),
    "service_account_token": lambda s, t, e, md: s.tokens.GetToken(
        token_service_pb2.GetTokenRequest(name=_name(e, t.accounts["acme"], "tokens/" + "0" * 32)), metadata=md
    ),
    "service_account": lambda s, t, e, md: s.service_accounts.DeleteServiceAccount(
        service_account_service_pb2.DeleteServiceAccountRequest(
            name=_name(e, "orgs/acme/teams/eng/serviceAccounts/bot", "orgs/acme/teams/eng/serviceAccounts/nope")
        ),
        metadata=md,
    ),
}


def _shape(error: grpc.aio.AioRpcError, *names: str) -> tuple[Any, ...]:
    """Everything the caller learns, with the requested name blanked out."""
    details = error.details() or ""
    for name in names:
        details = details.replace(name, "<name>")
    return error.code(), details, error_details(error)


@pytest.mark.parametrize("actor", ["oa-globex", "u-globex"])
@pytest.mark.parametrize("resource", sorted(PROBES))
async def test_another_orgs_resource_answers_like_an_absent_one(tenants: Tenants, resource: str, actor: str) -> None:
    probe, md = PROBES[resource], bearer(tenants.secrets[actor])
    existing = await _fails(probe(tenants.stubs, tenants, True, md))
    absent = await _fails(probe(tenants.stubs, tenants, False, md))
    assert existing.code() == grpc.StatusCode.NOT_FOUND
    names = (
        "orgs/acme",
        "orgs/nope",
        "users/u@acme.test",
        "users/nobody@acme.test",
        tenants.tokens["acme"],
        tenants.accounts["acme"],
        "tokens/" + "0" * 32,
        "orgs/acme/teams/eng",
        "orgs/acme/teams/nope",
        "orgs/acme/teams/eng/members/u@acme.test",
        "orgs/acme/teams/eng/members/no@acme.test",
        "orgs/acme/teams/eng/serviceAccounts/bot",
        "orgs/acme/teams/eng/serviceAccounts/nope",
    )
    longest_first = sorted(names, key=len, reverse=True)
    assert _shape(existing, *longest_first) == _shape(absent, *longest_first)
    # And nothing happened: acme's admin still sees everything.
    listed = await tenants.stubs.tokens.ListTokens(token_service_pb2.ListTokensRequest(), metadata=BOOT)
    assert {tenants.tokens["acme"], tenants.accounts["acme"]} <= {t.name for t in listed.tokens}
