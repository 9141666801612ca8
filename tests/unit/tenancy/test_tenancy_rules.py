"""Tenancy rules other than authorization: duplicates, unknown names, validation, cascades, caps, updates,
paging, and no existence oracle across orgs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.auth.principal import Principal, Role
from core.errors import AlreadyExists, FailedPrecondition, InvalidRequest, NotFound, QuotaExceeded
from core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from core.tenancy import Tenancy, TokenChanges
from core.tenancy.names import MemberName, OrgName, ServiceAccountName, TeamName, TokenName, UserName
from tests.unit.tenancy.world import ACME, BOOT, BOT, ENG, GLOBEX, OPS, build_world, user

U = user("u@acme.test")


async def test_duplicates_are_already_exists(tenancy: Tenancy) -> None:
    await build_world(tenancy)
    cases: list[Awaitable[object]] = [
        tenancy.orgs.create(BOOT, ACME),
        tenancy.users.create(BOOT, UserName("u@acme.test"), GLOBEX),  # emails are unique across orgs
        tenancy.teams.create(BOOT, ENG),
        tenancy.members.create(BOOT, ENG, U, team_admin=False),
        tenancy.service_accounts.create(BOOT, BOT, U),
    ]
    for call in cases:
        with pytest.raises(AlreadyExists):
            await call
    # The same team name in another org is fine.
    assert (await tenancy.teams.create(BOOT, TeamName("globex", "eng"))).org == "globex"


async def test_unknown_names_are_not_found_naming_the_resource(tenancy: Tenancy) -> None:
    await build_world(tenancy)
    cases: list[tuple[Awaitable[object], str, str]] = [
        (tenancy.users.create(BOOT, UserName("x@y.test"), OrgName("nope")), "user.org", "orgs/nope"),
        (tenancy.users.delete(BOOT, UserName("ghost@acme.test")), "name", "users/ghost@acme.test"),
        (tenancy.teams.create(BOOT, TeamName("nope", "t")), "parent", "orgs/nope"),
        (tenancy.teams.delete(BOOT, TeamName("acme", "nope")), "name", "orgs/acme/teams/nope"),
        (
            tenancy.members.create(BOOT, ENG, UserName("ghost@acme.test"), team_admin=False),
            "team_member.user",
            "users/ghost@acme.test",
        ),
        (
            tenancy.members.delete(BOOT, MemberName("acme", "eng", "other@acme.test")),
            "name",
            "orgs/acme/teams/eng/members/other@acme.test",
        ),
        (
            tenancy.members.set_admin(BOOT, MemberName("acme", "eng", "other@acme.test"), True, allow_missing=False),
            "team_member.name",
            "orgs/acme/teams/eng/members/other@acme.test",
        ),
        (tenancy.tokens.create(BOOT, UserName("ghost@acme.test"), ""), "token.user", "users/ghost@acme.test"),
        (tenancy.tokens.delete(BOOT, TokenName("0" * 32)), "name", "tokens/" + "0" * 32),
        (
            tenancy.service_accounts.delete(BOOT, ServiceAccountName("acme", "eng", "nope")),
            "name",
            "orgs/acme/teams/eng/serviceAccounts/nope",
        ),
        (tenancy.orgs.delete(BOOT, OrgName("nope")), "name", "orgs/nope"),
    ]
    for call, field, name in cases:
        with pytest.raises(NotFound) as info:
            await call
        assert (info.value.field, info.value.message) == (field, f"{name} not found")


# (lookup of another org's existing resource, lookup of an absent one), both by globex's org-admin.
Probe = Callable[[Tenancy, Principal, str], Awaitable[object]]
CROSS_TENANT: dict[str, tuple[Probe, str, str]] = {
    "org": (lambda t, p, x: t.orgs.get(p, OrgName(x)), "acme", "nope"),
    "user": (lambda t, p, x: t.users.get(p, UserName(x)), "u@acme.test", "ghost@acme.test"),
    "user_role": (lambda t, p, x: t.users.set_role(p, UserName(x), Role.USER), "u@acme.test", "ghost@acme.test"),
    "team": (lambda t, p, x: t.teams.get(p, TeamName(x, "eng")), "acme", "nope"),
    "team_members": (lambda t, p, x: t.members.list(p, TeamName("acme", x), 0, ""), "eng", "nope"),
    "team_member": (
        lambda t, p, x: t.members.get(p, MemberName("acme", "eng", x)),
        "u@acme.test",
        "ghost@acme.test",
    ),
    "user_tokens": (lambda t, p, x: t.tokens.list(p, UserName(x), 0, ""), "u@acme.test", "ghost@acme.test"),
    "service_account": (lambda t, p, x: t.service_accounts.get(p, ServiceAccountName("acme", "eng", x)), "bot", "nope"),
}


@pytest.mark.parametrize("resource", sorted(CROSS_TENANT))
async def test_another_orgs_resource_is_indistinguishable_from_an_absent_one(tenancy: Tenancy, resource: str) -> None:
    world = await build_world(tenancy)
    probe, existing, absent = CROSS_TENANT[resource]
    answers = []
    for target in (existing, absent):
        with pytest.raises(NotFound) as info:
            await probe(tenancy, world.actors["ob"], target)
        answers.append((type(info.value), info.value.field, info.value.message.replace(target, "<X>")))
    assert answers[0] == answers[1]


async def test_another_orgs_tokens_are_indistinguishable_from_absent_ones(tenancy: Tenancy) -> None:
    world = await build_world(tenancy)
    ob = world.actors["ob"]
    for token_id in (world.user_token_id, world.bot_token_id):
        for call in (tenancy.tokens.get, tenancy.tokens.regenerate, tenancy.tokens.delete):
            answers = []
            for target in (token_id, "f" * len(token_id)):
                with pytest.raises(NotFound) as info:
                    await call(ob, TokenName(target))
                answers.append((info.value.field, info.value.message.replace(target, "<X>")))
            assert answers[0] == answers[1] == ("name", "tokens/<X> not found")


async def test_a_denial_names_nobody(tenancy: Tenancy) -> None:
    world = await build_world(tenancy)
    admin_token = (await tenancy.tokens.create(BOOT, UserName("admin@acme.test"), "root")).token.id
    with pytest.raises(Exception) as info:
        await tenancy.tokens.regenerate(world.actors["oa"], TokenName(admin_token))
    assert "admin@acme.test" not in str(info.value) and admin_token not in str(info.value)


@pytest.mark.parametrize(
    ("bad_call", "field"),
    [
        (lambda t: t.tokens.create(BOOT, U, "x" * 101), "token.display_name"),
        (lambda t: t.tokens.create(BOOT, U, "bad\x00name"), "token.display_name"),
        (lambda t: t.tokens.create(BOOT, None, ""), "token.user"),  # the bootstrap admin has no user of its own
        (lambda t: t.tokens.create(BOOT, U, "old", datetime.now(UTC) - timedelta(seconds=1)), "token.expire_time"),
        (lambda t: t.orgs.list(BOOT, 1, "%%%"), "page_token"),
        (lambda t: t.orgs.list(BOOT, -1, ""), "page_size"),
    ],
)
async def test_invalid_input_names_the_field(tenancy: Tenancy, bad_call: Any, field: str) -> None:
    await build_world(tenancy)
    with pytest.raises(InvalidRequest) as info:
        await bad_call(tenancy)
    assert info.value.field == field


async def test_owners_must_belong_to_the_teams_org(tenancy: Tenancy) -> None:
    await build_world(tenancy)
    with pytest.raises(FailedPrecondition) as info:
        await tenancy.service_accounts.create(BOOT, ServiceAccountName("acme", "eng", "x"), user("ub@globex.test"))
    assert info.value.field == "service_account.owner"
    with pytest.raises(FailedPrecondition):
        await tenancy.service_accounts.set_owner(BOOT, BOT, user("ub@globex.test"))
    with pytest.raises(FailedPrecondition):
        await tenancy.members.create(BOOT, ENG, user("ub@globex.test"), team_admin=False)


async def test_personal_token_cap(tenancy: Tenancy) -> None:
    await build_world(tenancy)  # u already has one token; the fixture's cap is 3
    await tenancy.tokens.create(BOOT, U, "two")
    await tenancy.tokens.create(BOOT, U, "three")
    with pytest.raises(QuotaExceeded) as info:
        await tenancy.tokens.create(BOOT, U, "four")
    assert "maximum of 3" in info.value.message
    # Service-account tokens owned by the same user do not count.
    await tenancy.service_accounts.create(BOOT, ServiceAccountName("acme", "eng", "svc"), U)


async def test_deleting_a_user_revokes_their_tokens_and_service_accounts(tenancy: Tenancy) -> None:
    world = await build_world(tenancy)
    await tenancy.users.delete(BOOT, user("ta@acme.test"))  # owns "bot"
    tokens = {t.id for t in (await tenancy.tokens.list(BOOT, None, 0, "")).items}
    assert world.bot_token_id not in tokens
    assert (await tenancy.service_accounts.list(BOOT, None, 0, "")).items == []
    members = {m.email for m in (await tenancy.members.list(BOOT, ENG, 0, "")).items}
    assert members == {"u@acme.test"}


async def test_deleting_a_team_deletes_its_accounts_and_their_tokens(tenancy: Tenancy) -> None:
    world = await build_world(tenancy)
    await tenancy.teams.delete(BOOT, ENG)
    assert (await tenancy.service_accounts.list(BOOT, None, 0, "")).items == []
    assert [t.id for t in (await tenancy.tokens.list(BOOT, None, 0, "")).items] == [world.user_token_id]
    # Its members still exist.
    assert len((await tenancy.users.list(BOOT, ACME, 0, "")).items) == 5


async def test_org_must_be_empty_to_delete(tenancy: Tenancy) -> None:
    await build_world(tenancy)
    with pytest.raises(FailedPrecondition):
        await tenancy.orgs.delete(BOOT, GLOBEX)
    await tenancy.teams.delete(BOOT, OPS)
    await tenancy.users.delete(BOOT, user("ob@globex.test"))
    await tenancy.users.delete(BOOT, user("ub@globex.test"))
    await tenancy.orgs.delete(BOOT, GLOBEX)
    assert [o.name for o in (await tenancy.orgs.list(BOOT, 0, "")).items] == ["acme"]


async def test_service_account_token_is_deleted_with_the_account_only(tenancy: Tenancy) -> None:
    world = await build_world(tenancy)
    with pytest.raises(FailedPrecondition):
        await tenancy.tokens.delete(BOOT, TokenName(world.bot_token_id))
    regenerated = await tenancy.tokens.regenerate(BOOT, TokenName(world.bot_token_id))
    assert regenerated.token.id == world.bot_token_id
    assert regenerated.token.service_account == BOT


async def test_membership_admin_flag_updates_and_upserts(tenancy: Tenancy) -> None:
    await build_world(tenancy)
    name = MemberName("acme", "eng", "u@acme.test")
    assert (await tenancy.members.set_admin(BOOT, name, True, allow_missing=False)).team_admin
    assert (await tenancy.members.get(BOOT, name)).team_admin
    added = await tenancy.members.set_admin(
        BOOT, MemberName("acme", "eng", "other@acme.test"), False, allow_missing=True
    )
    assert not added.team_admin
    members = {m.email: m.team_admin for m in (await tenancy.members.list(BOOT, ENG, 0, "")).items}
    assert members == {"ta@acme.test": True, "u@acme.test": True, "other@acme.test": False}


async def test_role_changes_follow_the_grant_rules(tenancy: Tenancy) -> None:
    world = await build_world(tenancy)
    oa = world.actors["oa"]
    assert (await tenancy.users.set_role(oa, U, Role.ORG_ADMIN)).role is Role.ORG_ADMIN
    assert (await tenancy.users.get(BOOT, U)).role is Role.ORG_ADMIN
    with pytest.raises(Exception, match="permission denied"):
        await tenancy.users.set_role(oa, U, Role.ADMIN)
    assert (await tenancy.users.set_role(BOOT, U, Role.ADMIN)).role is Role.ADMIN
    with pytest.raises(Exception, match="permission denied"):
        await tenancy.users.set_role(oa, U, Role.USER)  # only admins touch admins


async def test_token_update_renames_and_reexpires(tenancy: Tenancy) -> None:
    world = await build_world(tenancy)
    name = TokenName(world.user_token_id)
    later = datetime.now(UTC) + timedelta(days=3)
    renamed = await tenancy.tokens.update(
        BOOT, name, TokenChanges(display_name="ci", change_expiry=True, expires_at=later)
    )
    assert renamed.name == "ci" and renamed.expires_at is not None
    assert abs(renamed.expires_at - later) < timedelta(seconds=1)
    never = await tenancy.tokens.update(BOOT, name, TokenChanges(change_expiry=True))
    assert (never.name, never.expires_at) == ("ci", None)
    with pytest.raises(InvalidRequest):
        past = datetime.now(UTC) - timedelta(days=1)
        await tenancy.tokens.update(BOOT, name, TokenChanges(change_expiry=True, expires_at=past))


async def test_handing_a_service_account_over_moves_its_token(tenancy: Tenancy) -> None:
    world = await build_world(tenancy)
    moved = await tenancy.service_accounts.set_owner(world.actors["ta"], BOT, U)  # u is a member of eng
    assert moved.owner_email == "u@acme.test"
    token = await tenancy.tokens.get(BOOT, TokenName(world.bot_token_id))
    assert token.user_email == "u@acme.test"


async def test_views_carry_names_and_roles(tenancy: Tenancy) -> None:
    await build_world(tenancy)
    expires = datetime.now(UTC) + timedelta(days=1)
    created = await tenancy.tokens.create(BOOT, user("oa@acme.test"), "ci", expires)
    assert created.token.user_email == "oa@acme.test"
    assert created.token.expires_at is not None and abs(created.token.expires_at - expires) < timedelta(seconds=1)
    assert created.token.preview.startswith("sk-") and "…" in created.token.preview
    assert created.secret.startswith("sk-") and created.secret not in created.token.preview
    listed = {t.id: t for t in (await tenancy.tokens.list(BOOT, user("oa@acme.test"), 0, "")).items}
    assert listed[created.token.id].expires_at == created.token.expires_at
    users = {u.email: u.role for u in (await tenancy.users.list(BOOT, ACME, 0, "")).items}
    assert users["oa@acme.test"] is Role.ORG_ADMIN
    accounts = (await tenancy.service_accounts.list(BOOT, ENG, 0, "")).items
    assert [(a.name, a.team, a.org, a.owner_email) for a in accounts] == [("bot", "eng", "acme", "ta@acme.test")]


async def test_pagination_walks_every_item_once_and_follows_aip_158(tenancy: Tenancy) -> None:
    for i in range(7):
        await tenancy.orgs.create(BOOT, OrgName(f"org{i}"))
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await tenancy.orgs.list(BOOT, 3, token)
        seen += [o.name for o in page.items]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"org{i}" for i in range(7)]
    assert pages == 3
    # 0 is the server default and an oversized page is coerced: both hold all 7 here, with no next page.
    for size in (0, MAX_PAGE_SIZE * 10):
        page = await tenancy.orgs.list(BOOT, size, "")
        assert (len(page.items), page.next_page_token) == (7, "")
    assert DEFAULT_PAGE_SIZE < MAX_PAGE_SIZE


async def test_a_page_token_is_tied_to_its_filters(tenancy: Tenancy) -> None:
    await build_world(tenancy)
    first = await tenancy.users.list(BOOT, ACME, 1, "")
    assert first.next_page_token
    with pytest.raises(InvalidRequest) as info:
        await tenancy.users.list(BOOT, GLOBEX, 1, first.next_page_token)
    assert info.value.field == "page_token"
