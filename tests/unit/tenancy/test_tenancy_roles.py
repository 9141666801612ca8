"""Every role's allowed and denied actions. Each action sets up its own target with the bootstrap admin, so
one world serves all actors; denied attempts must change nothing (PermissionDenied comes first)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

import pytest

from core.auth.principal import Principal, Role
from core.errors import PermissionDenied
from core.tenancy import TenancyService
from tests.unit.tenancy.world import BOOT, World, build_world

ACTORS = ("boot", "admin", "oa", "ob", "ta", "u", "other", "ub", "sa")
ADMINS = {"boot", "admin"}
ACME_ADMINS = ADMINS | {"oa"}
PEOPLE = set(ACTORS) - {"sa"}

Action = Callable[[TenancyService, World, Principal], Awaitable[object]]
_n = itertools.count()


def fresh(prefix: str) -> str:
    return f"{prefix}{next(_n)}"


async def create_org(s: TenancyService, w: World, p: Principal) -> object:
    return await s.create_org(p, fresh("org"))


async def list_orgs(s: TenancyService, w: World, p: Principal) -> object:
    page = await s.list_orgs(p)
    if p.role is Role.ADMIN:
        assert {o.name for o in page.items} >= {"acme", "globex"}
    else:
        assert [o.id for o in page.items] == [p.org_id]
    return page


async def delete_org(s: TenancyService, w: World, p: Principal) -> object:
    name = (await s.create_org(BOOT, fresh("gone"))).name
    await s.delete_org(p, name)
    return None


async def create_user(s: TenancyService, w: World, p: Principal) -> object:
    return await s.create_user(p, fresh("n") + "@acme.test", "acme")


async def create_admin_user(s: TenancyService, w: World, p: Principal) -> object:
    return await s.create_user(p, fresh("root") + "@acme.test", "acme", Role.ADMIN)


async def list_acme_users(s: TenancyService, w: World, p: Principal) -> object:
    return await s.list_users(p, "acme")


async def delete_user(s: TenancyService, w: World, p: Principal) -> object:
    email = (await s.create_user(BOOT, fresh("d") + "@acme.test", "acme")).email
    await s.delete_user(p, email)
    return None


async def delete_admin_user(s: TenancyService, w: World, p: Principal) -> object:
    email = (await s.create_user(BOOT, fresh("a") + "@acme.test", "acme", Role.ADMIN)).email
    await s.delete_user(p, email)
    return None


async def create_team(s: TenancyService, w: World, p: Principal) -> object:
    return await s.create_team(p, fresh("team"), "acme")


async def delete_team(s: TenancyService, w: World, p: Principal) -> object:
    name = (await s.create_team(BOOT, fresh("t"), "acme")).name
    await s.delete_team(p, name, "acme")
    return None


async def add_member(s: TenancyService, w: World, p: Principal) -> object:
    return await s.add_team_member(p, "eng", "acme", "other@acme.test")


async def remove_member(s: TenancyService, w: World, p: Principal) -> object:
    await s.add_team_member(BOOT, "eng", "acme", "other@acme.test")
    await s.remove_team_member(p, "eng", "acme", "other@acme.test")
    return None


async def list_members(s: TenancyService, w: World, p: Principal) -> object:
    return await s.list_team_members(p, "eng", "acme")


async def token_for_self(s: TenancyService, w: World, p: Principal) -> object:
    email = "" if p.user_id else "u@acme.test"  # the bootstrap admin has no user: it must name one
    created = await s.create_token(p, email, "mine")
    await s.delete_token(BOOT, created.token.id)  # stay under the per-user cap
    return created


async def token_for_u(s: TenancyService, w: World, p: Principal) -> object:
    created = await s.create_token(p, "u@acme.test", "for-u")
    await s.delete_token(BOOT, created.token.id)
    return created


async def token_for_admin(s: TenancyService, w: World, p: Principal) -> object:
    created = await s.create_token(p, "admin@acme.test", "for-admin")
    await s.delete_token(BOOT, created.token.id)
    return created


async def list_u_tokens(s: TenancyService, w: World, p: Principal) -> object:
    page = await s.list_tokens(p, "u@acme.test")
    assert [t.id for t in page.items] == [w.user_token_id]
    return page


async def regenerate_u_token(s: TenancyService, w: World, p: Principal) -> object:
    return await s.regenerate_token(p, w.user_token_id)


async def delete_u_token(s: TenancyService, w: World, p: Principal) -> object:
    token_id = (await s.create_token(BOOT, "u@acme.test", "doomed")).token.id
    try:
        await s.delete_token(p, token_id)
        return None
    except PermissionDenied:
        await s.delete_token(BOOT, token_id)
        raise


async def create_account(s: TenancyService, w: World, p: Principal) -> object:
    return await s.create_service_account(p, fresh("svc"), "eng", "acme", "u@acme.test")


async def delete_account(s: TenancyService, w: World, p: Principal) -> object:
    name = (await s.create_service_account(BOOT, fresh("x"), "eng", "acme", "u@acme.test")).service_account.name
    await s.delete_service_account(p, name, "eng", "acme")
    return None


async def list_eng_accounts(s: TenancyService, w: World, p: Principal) -> object:
    return await s.list_service_accounts(p, "eng", "acme")


async def regenerate_bot_token(s: TenancyService, w: World, p: Principal) -> object:
    return await s.regenerate_token(p, w.bot_token_id)


MATRIX: dict[str, tuple[Action, set[str]]] = {
    "create_org": (create_org, ADMINS),
    "list_orgs": (list_orgs, PEOPLE),
    "delete_org": (delete_org, ADMINS),
    "create_user": (create_user, ACME_ADMINS),
    "create_admin_user": (create_admin_user, ADMINS),
    "list_acme_users": (list_acme_users, ACME_ADMINS),
    "delete_user": (delete_user, ACME_ADMINS),
    "delete_admin_user": (delete_admin_user, ADMINS),
    "create_team": (create_team, ACME_ADMINS),
    "delete_team": (delete_team, ACME_ADMINS),
    "add_member": (add_member, ACME_ADMINS),
    "remove_member": (remove_member, ACME_ADMINS),
    "list_members": (list_members, ACME_ADMINS | {"ta", "u"}),
    "token_for_self": (token_for_self, PEOPLE),
    "token_for_u": (token_for_u, ACME_ADMINS | {"u"}),
    "token_for_admin": (token_for_admin, ADMINS),
    "list_u_tokens": (list_u_tokens, ACME_ADMINS | {"u"}),
    "regenerate_u_token": (regenerate_u_token, ACME_ADMINS | {"u"}),
    "delete_u_token": (delete_u_token, ACME_ADMINS | {"u"}),
    "create_account": (create_account, ACME_ADMINS | {"ta"}),
    "delete_account": (delete_account, ACME_ADMINS | {"ta"}),
    "list_eng_accounts": (list_eng_accounts, ACME_ADMINS | {"ta"}),
    "regenerate_bot_token": (regenerate_bot_token, ACME_ADMINS | {"ta"}),
}


@pytest.mark.parametrize("action_name", sorted(MATRIX))
async def test_role_matrix(tenancy: TenancyService, action_name: str) -> None:
    action, allowed = MATRIX[action_name]
    world = await build_world(tenancy)
    outcomes: dict[str, str] = {}
    for actor in ACTORS:
        try:
            await action(tenancy, world, world.actors[actor])
            outcomes[actor] = "allowed"
        except PermissionDenied:
            outcomes[actor] = "denied"
    assert outcomes == {a: "allowed" if a in allowed else "denied" for a in ACTORS}


async def test_service_account_sees_only_its_own_token(tenancy: TenancyService) -> None:
    world = await build_world(tenancy)
    page = await tenancy.list_tokens(world.actors["sa"])
    assert [t.id for t in page.items] == [world.bot_token_id]


async def test_user_lists_own_tokens_and_team_admin_sees_team_accounts(tenancy: TenancyService) -> None:
    world = await build_world(tenancy)
    assert [t.id for t in (await tenancy.list_tokens(world.actors["u"])).items] == [world.user_token_id]
    ta_tokens = {t.id for t in (await tenancy.list_tokens(world.actors["ta"])).items}
    assert ta_tokens == {world.bot_token_id}
    assert (await tenancy.list_tokens(world.actors["other"])).items == []
    ob_view = {t.user_email for t in (await tenancy.list_tokens(world.actors["ob"])).items}
    assert ob_view == set()  # nothing of acme
    everything = await tenancy.list_tokens(BOOT)
    assert {t.id for t in everything.items} == {world.user_token_id, world.bot_token_id}


async def test_list_scopes_follow_the_role(tenancy: TenancyService) -> None:
    world = await build_world(tenancy)
    acme_users = {u.email for u in (await tenancy.list_users(world.actors["oa"])).items}
    assert acme_users == {w.email for k, w in world.users.items() if w.org == "acme"}
    assert len((await tenancy.list_users(BOOT)).items) == len(world.users)
    assert [t.name for t in (await tenancy.list_teams(world.actors["u"])).items] == ["eng"]
    assert (await tenancy.list_teams(world.actors["other"])).items == []
    assert [t.name for t in (await tenancy.list_teams(world.actors["ob"])).items] == ["ops"]
    assert {t.name for t in (await tenancy.list_teams(BOOT)).items} == {"eng", "ops"}
    assert [a.name for a in (await tenancy.list_service_accounts(world.actors["ta"])).items] == ["bot"]
    assert (await tenancy.list_service_accounts(world.actors["u"])).items == []
    assert (await tenancy.list_service_accounts(world.actors["ob"])).items == []
