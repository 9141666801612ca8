"""Every role's allowed, denied and hidden actions. Each action sets up its own target with the bootstrap
admin, so one world serves all actors. "hidden" means the caller may not see the target (another org's, or not
theirs): the answer is NOT_FOUND, exactly as for a target that does not exist. Denied or hidden attempts change
nothing (the checks come first)."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

import pytest

from core.auth.principal import Principal, Role
from core.errors import NotFound, PermissionDenied
from core.tenancy import Tenancy, TokenChanges
from core.tenancy.names import MemberName, OrgName, ServiceAccountName, TeamName, TokenName, UserName
from tests.unit.tenancy.world import ACME, BOOT, BOT, ENG, World, build_world, user

ACTORS = ("boot", "admin", "oa", "ob", "ta", "u", "other", "ub", "sa")
ADMINS = {"boot", "admin"}
ACME_ADMINS = ADMINS | {"oa"}
ACME_PEOPLE = ACME_ADMINS | {"ta", "u", "other"}
PEOPLE = set(ACTORS) - {"sa"}
ELSEWHERE = {"ob", "ub"}  # globex's people: acme's resources are hidden from them
U = user("u@acme.test")

Action = Callable[[Tenancy, World, Principal], Awaitable[object]]
_n = itertools.count()


def fresh(prefix: str) -> str:
    return f"{prefix}{next(_n)}"


async def fresh_user(t: Tenancy) -> UserName:
    name = UserName(fresh("n") + "@acme.test")
    await t.users.create(BOOT, name, ACME)
    return name


async def create_org(t: Tenancy, w: World, p: Principal) -> object:
    return await t.orgs.create(p, OrgName(fresh("org")))


async def list_orgs(t: Tenancy, w: World, p: Principal) -> object:
    page = await t.orgs.list(p, 0, "")
    if p.role is Role.ADMIN:
        assert {o.name for o in page.items} >= {"acme", "globex"}
    else:
        assert [o.id for o in page.items] == [p.org_id]
    return page


async def get_acme(t: Tenancy, w: World, p: Principal) -> object:
    return await t.orgs.get(p, ACME)


async def delete_org(t: Tenancy, w: World, p: Principal) -> object:
    name = OrgName((await t.orgs.create(BOOT, OrgName(fresh("gone")))).name)
    await t.orgs.delete(p, name)
    return None


async def create_user(t: Tenancy, w: World, p: Principal) -> object:
    return await t.users.create(p, UserName(fresh("n") + "@acme.test"), ACME)


async def create_admin_user(t: Tenancy, w: World, p: Principal) -> object:
    return await t.users.create(p, UserName(fresh("root") + "@acme.test"), ACME, Role.ADMIN)


async def list_acme_users(t: Tenancy, w: World, p: Principal) -> object:
    return await t.users.list(p, ACME, 0, "")


async def get_u(t: Tenancy, w: World, p: Principal) -> object:
    return await t.users.get(p, U)


async def demote_u(t: Tenancy, w: World, p: Principal) -> object:
    return await t.users.set_role(p, U, Role.USER)


async def delete_user(t: Tenancy, w: World, p: Principal) -> object:
    await t.users.delete(p, await fresh_user(t))
    return None


async def delete_admin_user(t: Tenancy, w: World, p: Principal) -> object:
    name = UserName(fresh("a") + "@acme.test")
    await t.users.create(BOOT, name, ACME, Role.ADMIN)
    await t.users.delete(p, name)
    return None


async def create_team(t: Tenancy, w: World, p: Principal) -> object:
    return await t.teams.create(p, TeamName("acme", fresh("team")))


async def get_eng(t: Tenancy, w: World, p: Principal) -> object:
    return await t.teams.get(p, ENG)


async def delete_team(t: Tenancy, w: World, p: Principal) -> object:
    name = TeamName("acme", fresh("t"))
    await t.teams.create(BOOT, name)
    await t.teams.delete(p, name)
    return None


async def add_member(t: Tenancy, w: World, p: Principal) -> object:
    return await t.members.create(p, ENG, await fresh_user(t), team_admin=False)


async def remove_member(t: Tenancy, w: World, p: Principal) -> object:
    name = await fresh_user(t)
    member = await t.members.create(BOOT, ENG, name, team_admin=False)
    await t.members.delete(p, MemberName("acme", "eng", member.email))
    return None


async def list_members(t: Tenancy, w: World, p: Principal) -> object:
    return await t.members.list(p, ENG, 0, "")


async def token_for_self(t: Tenancy, w: World, p: Principal) -> object:
    owner = None if p.user_id else U  # the bootstrap admin has no user: it must name one
    created = await t.tokens.create(p, owner, "mine")
    await t.tokens.delete(BOOT, TokenName(created.token.id))  # stay under the per-user cap
    return created


async def token_for_u(t: Tenancy, w: World, p: Principal) -> object:
    created = await t.tokens.create(p, U, "for-u")
    await t.tokens.delete(BOOT, TokenName(created.token.id))
    return created


async def token_for_admin(t: Tenancy, w: World, p: Principal) -> object:
    created = await t.tokens.create(p, user("admin@acme.test"), "for-admin")
    await t.tokens.delete(BOOT, TokenName(created.token.id))
    return created


async def list_u_tokens(t: Tenancy, w: World, p: Principal) -> object:
    page = await t.tokens.list(p, U, 0, "")
    assert [tok.id for tok in page.items] == [w.user_token_id]
    return page


async def get_u_token(t: Tenancy, w: World, p: Principal) -> object:
    return await t.tokens.get(p, TokenName(w.user_token_id))


async def rename_u_token(t: Tenancy, w: World, p: Principal) -> object:
    return await t.tokens.update(p, TokenName(w.user_token_id), TokenChanges(display_name="renamed"))


async def regenerate_u_token(t: Tenancy, w: World, p: Principal) -> object:
    return await t.tokens.regenerate(p, TokenName(w.user_token_id))


async def delete_u_token(t: Tenancy, w: World, p: Principal) -> object:
    name = TokenName((await t.tokens.create(BOOT, U, "doomed")).token.id)
    try:
        await t.tokens.delete(p, name)
        return None
    except (PermissionDenied, NotFound):
        await t.tokens.delete(BOOT, name)
        raise


async def create_account(t: Tenancy, w: World, p: Principal) -> object:
    return await t.service_accounts.create(p, ServiceAccountName("acme", "eng", fresh("svc")), U)


async def get_bot(t: Tenancy, w: World, p: Principal) -> object:
    return await t.service_accounts.get(p, BOT)


async def delete_account(t: Tenancy, w: World, p: Principal) -> object:
    name = ServiceAccountName("acme", "eng", fresh("x"))
    await t.service_accounts.create(BOOT, name, U)
    await t.service_accounts.delete(p, name)
    return None


async def list_eng_accounts(t: Tenancy, w: World, p: Principal) -> object:
    return await t.service_accounts.list(p, ENG, 0, "")


async def regenerate_bot_token(t: Tenancy, w: World, p: Principal) -> object:
    return await t.tokens.regenerate(p, TokenName(w.bot_token_id))


# action: (allowed, hidden); every other actor is denied.
MATRIX: dict[str, tuple[Action, set[str], set[str]]] = {
    "create_org": (create_org, ADMINS, set()),
    "list_orgs": (list_orgs, PEOPLE, set()),
    "get_acme": (get_acme, ACME_PEOPLE, ELSEWHERE | {"sa"}),
    "delete_org": (delete_org, ADMINS, set()),
    "create_user": (create_user, ACME_ADMINS, {"ob"}),
    "create_admin_user": (create_admin_user, ADMINS, set()),
    "list_acme_users": (list_acme_users, ACME_ADMINS, ELSEWHERE),
    "get_u": (get_u, ACME_ADMINS | {"u"}, ELSEWHERE | {"ta", "other", "sa"}),
    "demote_u": (demote_u, ACME_ADMINS, ELSEWHERE | {"ta", "other"}),
    "delete_user": (delete_user, ACME_ADMINS, ELSEWHERE | {"ta", "u", "other"}),
    "delete_admin_user": (delete_admin_user, ADMINS, ELSEWHERE | {"ta", "u", "other"}),
    "create_team": (create_team, ACME_ADMINS, ELSEWHERE),
    "get_eng": (get_eng, ACME_ADMINS | {"ta", "u"}, ELSEWHERE | {"other", "sa"}),
    "delete_team": (delete_team, ACME_ADMINS, ELSEWHERE | {"ta", "u", "other"}),
    "add_member": (add_member, ACME_ADMINS, ELSEWHERE | {"other"}),
    "remove_member": (remove_member, ACME_ADMINS, ELSEWHERE | {"other"}),
    "list_members": (list_members, ACME_ADMINS | {"ta", "u"}, ELSEWHERE | {"other"}),
    "token_for_self": (token_for_self, PEOPLE, set()),
    "token_for_u": (token_for_u, ACME_ADMINS | {"u"}, ELSEWHERE | {"ta", "other"}),
    "token_for_admin": (token_for_admin, ADMINS, ELSEWHERE | {"ta", "u", "other"}),
    "list_u_tokens": (list_u_tokens, ACME_ADMINS | {"u"}, ELSEWHERE | {"ta", "other"}),
    "get_u_token": (get_u_token, ACME_ADMINS | {"u"}, ELSEWHERE | {"ta", "other", "sa"}),
    "rename_u_token": (rename_u_token, ACME_ADMINS | {"u"}, ELSEWHERE | {"ta", "other"}),
    "regenerate_u_token": (regenerate_u_token, ACME_ADMINS | {"u"}, ELSEWHERE | {"ta", "other"}),
    "delete_u_token": (delete_u_token, ACME_ADMINS | {"u"}, ELSEWHERE | {"ta", "other"}),
    "create_account": (create_account, ACME_ADMINS | {"ta"}, ELSEWHERE | {"other"}),
    "get_bot": (get_bot, ACME_ADMINS | {"ta"}, ELSEWHERE | {"u", "other", "sa"}),
    "delete_account": (delete_account, ACME_ADMINS | {"ta"}, ELSEWHERE | {"other"}),
    "list_eng_accounts": (list_eng_accounts, ACME_ADMINS | {"ta"}, ELSEWHERE | {"other"}),
    "regenerate_bot_token": (regenerate_bot_token, ACME_ADMINS | {"ta"}, ELSEWHERE | {"u", "other"}),
}


@pytest.mark.parametrize("action_name", sorted(MATRIX))
async def test_role_matrix(tenancy: Tenancy, action_name: str) -> None:
    action, allowed, hidden = MATRIX[action_name]
    world = await build_world(tenancy)
    outcomes: dict[str, str] = {}
    for actor in ACTORS:
        try:
            await action(tenancy, world, world.actors[actor])
            outcomes[actor] = "allowed"
        except PermissionDenied:
            outcomes[actor] = "denied"
        except NotFound:
            outcomes[actor] = "hidden"
    expected = {a: "allowed" if a in allowed else "hidden" if a in hidden else "denied" for a in ACTORS}
    assert outcomes == expected


async def test_service_account_sees_only_its_own_token(tenancy: Tenancy) -> None:
    world = await build_world(tenancy)
    page = await tenancy.tokens.list(world.actors["sa"], None, 0, "")
    assert [t.id for t in page.items] == [world.bot_token_id]


async def test_user_lists_own_tokens_and_team_admin_sees_team_accounts(tenancy: Tenancy) -> None:
    world = await build_world(tenancy)

    async def ids(actor: Principal) -> set[str]:
        return {t.id for t in (await tenancy.tokens.list(actor, None, 0, "")).items}

    assert await ids(world.actors["u"]) == {world.user_token_id}
    assert await ids(world.actors["ta"]) == {world.bot_token_id}
    assert await ids(world.actors["other"]) == set()
    assert await ids(world.actors["ob"]) == set()  # nothing of acme
    assert await ids(BOOT) == {world.user_token_id, world.bot_token_id}


async def test_list_scopes_follow_the_role(tenancy: Tenancy) -> None:
    world = await build_world(tenancy)
    acme_users = {u.email for u in (await tenancy.users.list(world.actors["oa"], None, 0, "")).items}
    assert acme_users == {w.email for w in world.users.values() if w.org == "acme"}
    assert len((await tenancy.users.list(BOOT, None, 0, "")).items) == len(world.users)

    async def teams(actor: Principal) -> list[str]:
        return [t.name for t in (await tenancy.teams.list(actor, None, 0, "")).items]

    assert await teams(world.actors["u"]) == ["eng"]
    assert await teams(world.actors["other"]) == []
    assert await teams(world.actors["ob"]) == ["ops"]
    assert set(await teams(BOOT)) == {"eng", "ops"}

    async def accounts(actor: Principal) -> list[str]:
        return [a.name for a in (await tenancy.service_accounts.list(actor, None, 0, "")).items]

    assert await accounts(world.actors["ta"]) == ["bot"]
    assert await accounts(world.actors["u"]) == []
    assert await accounts(world.actors["ob"]) == []
