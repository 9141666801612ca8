"""Exclusions and exclusion policies as resources against a real database: create / delete / list pages,
merge flags, effective lists, authorization (another org's scopes are NOT_FOUND like absent ones)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.authenticator import Authenticator
from core.auth.principal import Principal
from core.db.engine import create_sessionmaker
from core.errors import AlreadyExists, InvalidRequest, NotFound, PermissionDenied
from core.governance.access.admin import ExclusionsAdmin
from core.governance.access.exclusions import ExclusionKind, ExclusionPolicy, ExclusionTable, load_exclusion_table
from core.governance.limits.snapshot import RefreshingSnapshot
from core.settings import Settings
from core.tenancy import Tenancy
from tests.unit.tenancy.world import BOOT, World, build_world

M, MCP = ExclusionKind.MODEL, ExclusionKind.MCP_SERVER


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    settings = Settings()
    return await build_world(Tenancy.create(create_sessionmaker(engine), Authenticator(engine, settings), settings))


@pytest.fixture
async def admin(engine: AsyncEngine) -> AsyncIterator[ExclusionsAdmin]:
    snapshot: RefreshingSnapshot[ExclusionTable] = RefreshingSnapshot(
        "exclusions", lambda: load_exclusion_table(engine), ExclusionTable(), ttl=60
    )
    await snapshot.start()
    policy = ExclusionPolicy(snapshot, global_models=["g"], global_mcp_servers=[], canonical=lambda n: None)
    try:
        yield ExclusionsAdmin(engine, policy)
    finally:
        await snapshot.aclose()


def member(world: World, key: str) -> Principal:
    return world.actors[key]


USER = "users/u@acme.test"
POLICY = "users/u@acme.test/exclusionPolicy"


async def test_create_delete_and_effective_lists(admin: ExclusionsAdmin, world: World) -> None:
    await admin.create(BOOT, "orgs/acme", M, "big")
    created = await admin.create(BOOT, USER, M, " meta/llama ")
    assert (created.name, created.kind, created.target) == (f"{USER}/exclusions/model.meta%2Fllama", M, "meta/llama")
    with pytest.raises(AlreadyExists):
        await admin.create(BOOT, USER, M, "meta/llama")
    policy = await admin.get_policy(member(world, "u"), POLICY)
    assert policy.name == POLICY and policy.merge == {M: True, MCP: True}
    assert policy.effective == {M: ["big", "g", "meta/llama"], MCP: []}
    assert admin._policy.excluded_models(member(world, "u")) == {"meta/llama", "big", "g"}
    assert admin._policy.excluded_models(member(world, "other")) == {"big", "g"}
    await admin.delete(BOOT, created.name)
    assert (await admin.get_policy(BOOT, POLICY)).effective[M] == ["big", "g"]
    with pytest.raises(NotFound) as caught:
        await admin.delete(BOOT, created.name)
    assert str(caught.value) == f"{created.name} not found"


async def test_list_pages(admin: ExclusionsAdmin, world: World) -> None:
    for target in ("c", "a", "b"):
        await admin.create(BOOT, "orgs/acme", M, target)
    await admin.create(BOOT, "orgs/acme", MCP, "github")
    first, token = await admin.list_exclusions(BOOT, "orgs/acme", 2, "")
    second, last = await admin.list_exclusions(BOOT, "orgs/acme", 2, token)
    assert [(e.kind, e.target) for e in first + second] == [(MCP, "github"), (M, "a"), (M, "b"), (M, "c")]
    assert token and last == ""
    everything, none = await admin.list_exclusions(BOOT, "orgs/acme", 0, "")
    assert len(everything) == 4 and none == ""
    with pytest.raises(InvalidRequest):
        await admin.list_exclusions(BOOT, "orgs/acme", -1, "")


async def test_merge_flags_per_kind(admin: ExclusionsAdmin, world: World) -> None:
    await admin.create(BOOT, "orgs/acme", M, "big")
    off = {"merge_models": False, "merge_mcp_servers": False}
    view = await admin.update_policy(BOOT, POLICY, off, ["merge_models"])
    assert view.merge == {M: False, MCP: True} and view.effective[M] == []
    view = await admin.update_policy(BOOT, "orgs/acme/exclusionPolicy", off, [])  # empty mask: both
    assert view.merge == {M: False, MCP: False} and view.effective[M] == ["big"]  # the org stops the global list
    view = await admin.update_policy(BOOT, POLICY, {"merge_models": True, "merge_mcp_servers": False}, ["*"])
    assert view.merge == {M: True, MCP: False} and view.effective[M] == ["big"]
    with pytest.raises(InvalidRequest):
        await admin.update_policy(BOOT, POLICY, off, ["merge_models", "name"])


async def test_team_scope_applies_to_service_accounts(admin: ExclusionsAdmin, world: World) -> None:
    await admin.create(BOOT, "orgs/acme/teams/eng", MCP, "github")
    view = await admin.get_policy(BOOT, "orgs/acme/teams/eng/exclusionPolicy")
    assert view.name == "orgs/acme/teams/eng/exclusionPolicy" and view.effective[MCP] == ["github"]


async def test_tokens_have_no_exclusions_and_names_are_checked(admin: ExclusionsAdmin, world: World) -> None:
    with pytest.raises(InvalidRequest):
        await admin.create(BOOT, f"tokens/{world.user_token_id}", M, "x")
    with pytest.raises(InvalidRequest):
        await admin.create(BOOT, "orgs/acme", M, "  ")
    for name in ("orgs/acme/exclusions/gpt", "orgs/acme/exclusions/other.gpt", "orgs/acme/exclusions/model."):
        with pytest.raises(InvalidRequest):
            await admin.delete(BOOT, name)
    with pytest.raises(InvalidRequest):
        await admin.get_policy(BOOT, "orgs/acme/policy")


async def test_authorization(admin: ExclusionsAdmin, world: World) -> None:
    await admin.create(member(world, "oa"), USER, M, "x")
    for actor in ("u", "ta"):
        with pytest.raises(PermissionDenied):
            await admin.create(member(world, actor), USER, M, "y")
        with pytest.raises(PermissionDenied):
            await admin.delete(member(world, actor), f"{USER}/exclusions/model.x")
    await admin.get_policy(member(world, "u"), POLICY)
    await admin.list_exclusions(member(world, "u"), USER, 0, "")
    with pytest.raises(PermissionDenied):
        await admin.get_policy(member(world, "u"), "users/other@acme.test/exclusionPolicy")


async def test_another_orgs_scopes_are_not_found_like_absent_ones(admin: ExclusionsAdmin, world: World) -> None:
    ob = member(world, "ob")
    for existing, absent in (("orgs/acme", "orgs/nope"), (USER, "users/nobody@acme.test")):
        for call in (
            lambda scope: admin.create(ob, scope, M, "y"),
            lambda scope: admin.list_exclusions(ob, scope, 0, ""),
            lambda scope: admin.get_policy(ob, f"{scope}/exclusionPolicy"),
            lambda scope: admin.update_policy(
                ob, f"{scope}/exclusionPolicy", {"merge_models": False}, ["merge_models"]
            ),
            lambda scope: admin.delete(ob, f"{scope}/exclusions/model.x"),
        ):
            with pytest.raises(NotFound) as seen:
                await call(existing)
            with pytest.raises(NotFound) as missing:
                await call(absent)
            assert str(seen.value).replace(existing, absent) == str(missing.value)
