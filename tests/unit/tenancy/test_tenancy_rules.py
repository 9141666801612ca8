"""Tenancy rules other than authorization: duplicates, unknown names, validation, cascades, caps, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.auth.principal import Role
from core.errors import AlreadyExists, FailedPrecondition, InvalidRequest, NotFound, QuotaExceeded
from core.tenancy import TenancyService
from tests.unit.tenancy.world import BOOT, build_world


async def test_duplicates_are_already_exists(tenancy: TenancyService) -> None:
    await build_world(tenancy)
    cases = [
        tenancy.create_org(BOOT, "acme"),
        tenancy.create_user(BOOT, "U@Acme.test", "globex"),  # emails compare case-insensitively
        tenancy.create_team(BOOT, "eng", "acme"),
        tenancy.create_service_account(BOOT, "bot", "eng", "acme", "u@acme.test"),
    ]
    for call in cases:
        with pytest.raises(AlreadyExists):
            await call
    # The same team name in another org is fine.
    assert (await tenancy.create_team(BOOT, "eng", "globex")).org == "globex"


async def test_unknown_names_are_not_found(tenancy: TenancyService) -> None:
    await build_world(tenancy)
    cases = [
        (tenancy.create_user(BOOT, "x@y.test", "nope"), "org"),
        (tenancy.delete_user(BOOT, "ghost@acme.test"), "email"),
        (tenancy.create_team(BOOT, "t", "nope"), "org"),
        (tenancy.delete_team(BOOT, "nope", "acme"), "team"),
        (tenancy.add_team_member(BOOT, "eng", "acme", "ghost@acme.test"), "email"),
        (tenancy.remove_team_member(BOOT, "eng", "acme", "other@acme.test"), "email"),
        (tenancy.create_token(BOOT, "ghost@acme.test"), "user_email"),
        (tenancy.delete_token(BOOT, "0" * 32), "id"),
        (tenancy.regenerate_token(BOOT, ""), "id"),
        (tenancy.delete_service_account(BOOT, "nope", "eng", "acme"), "name"),
        (tenancy.delete_org(BOOT, "nope"), "name"),
    ]
    for call, field in cases:
        with pytest.raises(NotFound) as info:
            await call
        assert info.value.field == field


@pytest.mark.parametrize(
    ("bad_call", "field"),
    [
        (lambda t: t.create_org(BOOT, ""), "name"),
        (lambda t: t.create_org(BOOT, "has space"), "name"),
        (lambda t: t.create_org(BOOT, "x" * 65), "name"),
        (lambda t: t.create_user(BOOT, "not-an-email", "acme"), "email"),
        (lambda t: t.create_user(BOOT, "", "acme"), "email"),
        (lambda t: t.create_team(BOOT, "-leading-dash", "acme"), "name"),
        (lambda t: t.create_token(BOOT, "u@acme.test", "x" * 101), "name"),
        (lambda t: t.create_token(BOOT, "u@acme.test", "bad\x00name"), "name"),
        (lambda t: t.create_token(BOOT, ""), "user_email"),  # the bootstrap admin has no user of its own
        (lambda t: t.create_token(BOOT, "u@acme.test", "old", datetime.now(UTC) - timedelta(seconds=1)), "expire_time"),
        (lambda t: t.list_orgs(BOOT, page_token="%%%"), "page_token"),
        (lambda t: t.list_orgs(BOOT, page_size=-1), "page_size"),
        (lambda t: t.create_service_account(BOOT, "x", "eng", "acme", "ub@globex.test"), "owner_email"),
        (lambda t: t.list_service_accounts(BOOT, team="eng"), "org"),
    ],
)
async def test_invalid_input_names_the_field(tenancy: TenancyService, bad_call, field: str) -> None:  # type: ignore[no-untyped-def]
    await build_world(tenancy)
    with pytest.raises(InvalidRequest) as info:
        await bad_call(tenancy)
    assert info.value.field == field


async def test_personal_token_cap(tenancy: TenancyService) -> None:
    await build_world(tenancy)  # u already has one token; the fixture's cap is 3
    await tenancy.create_token(BOOT, "u@acme.test", "two")
    await tenancy.create_token(BOOT, "u@acme.test", "three")
    with pytest.raises(QuotaExceeded) as info:
        await tenancy.create_token(BOOT, "u@acme.test", "four")
    assert "maximum of 3" in info.value.message
    # Service-account tokens owned by the same user do not count.
    await tenancy.create_service_account(BOOT, "svc", "eng", "acme", "u@acme.test")


async def test_deleting_a_user_revokes_their_tokens_and_service_accounts(tenancy: TenancyService) -> None:
    world = await build_world(tenancy)
    await tenancy.delete_user(BOOT, "ta@acme.test")  # owns "bot"
    tokens = {t.id for t in (await tenancy.list_tokens(BOOT)).items}
    assert world.bot_token_id not in tokens
    assert (await tenancy.list_service_accounts(BOOT)).items == []
    members = {m.email for m in (await tenancy.list_team_members(BOOT, "eng", "acme")).items}
    assert members == {"u@acme.test"}


async def test_deleting_a_team_deletes_its_accounts_and_their_tokens(tenancy: TenancyService) -> None:
    world = await build_world(tenancy)
    await tenancy.delete_team(BOOT, "eng", "acme")
    assert (await tenancy.list_service_accounts(BOOT)).items == []
    assert [t.id for t in (await tenancy.list_tokens(BOOT)).items] == [world.user_token_id]
    # Its members still exist.
    assert len((await tenancy.list_users(BOOT, "acme")).items) == 5


async def test_org_must_be_empty_to_delete(tenancy: TenancyService) -> None:
    await build_world(tenancy)
    with pytest.raises(FailedPrecondition):
        await tenancy.delete_org(BOOT, "globex")
    await tenancy.delete_team(BOOT, "ops", "globex")
    await tenancy.delete_user(BOOT, "ob@globex.test")
    await tenancy.delete_user(BOOT, "ub@globex.test")
    await tenancy.delete_org(BOOT, "globex")
    assert [o.name for o in (await tenancy.list_orgs(BOOT)).items] == ["acme"]


async def test_service_account_token_is_deleted_with_the_account_only(tenancy: TenancyService) -> None:
    world = await build_world(tenancy)
    with pytest.raises(FailedPrecondition):
        await tenancy.delete_token(BOOT, world.bot_token_id)
    regenerated = await tenancy.regenerate_token(BOOT, world.bot_token_id)
    assert regenerated.token.id == world.bot_token_id
    assert regenerated.token.service_account == "bot"


async def test_membership_requires_the_teams_org_and_updates_the_admin_flag(tenancy: TenancyService) -> None:
    await build_world(tenancy)
    with pytest.raises(FailedPrecondition):
        await tenancy.add_team_member(BOOT, "eng", "acme", "ub@globex.test")
    member = await tenancy.add_team_member(BOOT, "eng", "acme", "u@acme.test", team_admin=True)
    assert member.team_admin
    members = {m.email: m.team_admin for m in (await tenancy.list_team_members(BOOT, "eng", "acme")).items}
    assert members == {"ta@acme.test": True, "u@acme.test": True}


async def test_views_carry_names_and_roles(tenancy: TenancyService) -> None:
    await build_world(tenancy)
    expires = datetime.now(UTC) + timedelta(days=1)
    created = await tenancy.create_token(BOOT, "oa@acme.test", "ci", expires)
    assert created.token.user_email == "oa@acme.test"
    assert created.token.expires_at is not None and abs(created.token.expires_at - expires) < timedelta(seconds=1)
    assert created.token.preview.startswith("sk-") and "…" in created.token.preview
    assert created.secret.startswith("sk-") and created.secret not in created.token.preview
    listed = {t.id: t for t in (await tenancy.list_tokens(BOOT, "oa@acme.test")).items}
    assert listed[created.token.id].expires_at == created.token.expires_at
    users = {u.email: u.role for u in (await tenancy.list_users(BOOT, "acme")).items}
    assert users["oa@acme.test"] is Role.ORG_ADMIN
    accounts = (await tenancy.list_service_accounts(BOOT, "eng", "acme")).items
    assert [(a.name, a.team, a.org, a.owner_email) for a in accounts] == [("bot", "eng", "acme", "ta@acme.test")]


async def test_pagination_walks_every_item_once(tenancy: TenancyService) -> None:
    for i in range(7):
        await tenancy.create_org(BOOT, f"org{i}")
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await tenancy.list_orgs(BOOT, page_size=3, page_token=token)
        seen += [o.name for o in page.items]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"org{i}" for i in range(7)]
    assert pages == 3
    assert len((await tenancy.list_orgs(BOOT, page_size=0)).items) == 7
