"""`exclusions add|remove|merge|show` against a real database, with authorization and effective lists."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.authenticator import Authenticator
from core.auth.principal import Principal
from core.db.engine import create_sessionmaker
from core.errors import InvalidRequest, NotFound, PermissionDenied
from core.governance.access.admin import ExclusionsAdmin
from core.governance.access.exclusions import ExclusionKind, ExclusionPolicy, ExclusionTable, load_exclusion_table
from core.governance.access.scope import ScopeRef
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


async def test_add_remove_and_effective_lists(admin: ExclusionsAdmin, world: World) -> None:
    await admin.add(BOOT, ScopeRef(org="acme"), M, "big")
    view = await admin.add(BOOT, ScopeRef(user="u@acme.test"), M, "small")
    await admin.add(BOOT, ScopeRef(user="u@acme.test"), M, "small")  # idempotent
    [models, mcp] = view.lists
    assert (models.kind, models.names, models.merge, models.effective) == (M, ["small"], True, ["big", "g", "small"])
    assert mcp.kind is MCP and mcp.names == []
    policy = admin._policy
    assert policy.excluded_models(member(world, "u")) == {"small", "big", "g"}
    assert policy.excluded_models(member(world, "other")) == {"big", "g"}
    view = await admin.remove(BOOT, ScopeRef(user="u@acme.test"), M, "small")
    assert view.lists[0].names == []
    with pytest.raises(NotFound):
        await admin.remove(BOOT, ScopeRef(user="u@acme.test"), M, "small")


async def test_merge_flags_per_kind(admin: ExclusionsAdmin, world: World) -> None:
    await admin.add(BOOT, ScopeRef(org="acme"), M, "big")
    view = await admin.set_merge(BOOT, ScopeRef(user="u@acme.test"), [M], False)
    assert view.lists[0].merge is False and view.lists[0].effective == []
    assert view.lists[1].merge is True
    view = await admin.set_merge(BOOT, ScopeRef(org="acme"), [M, MCP], False)
    assert view.lists[0].effective == ["big"]  # the org stops before the global list
    view = await admin.set_merge(BOOT, ScopeRef(user="u@acme.test"), [M], True)
    assert view.lists[0].effective == ["big"]


async def test_team_scope_applies_to_service_accounts(admin: ExclusionsAdmin, world: World) -> None:
    view = await admin.add(BOOT, ScopeRef(team="eng", org="acme"), MCP, "github")
    assert view.scope == "team eng (org acme)" and view.lists[1].effective == ["github"]


async def test_tokens_have_no_lists_and_names_are_checked(admin: ExclusionsAdmin, world: World) -> None:
    with pytest.raises(InvalidRequest):
        await admin.add(BOOT, ScopeRef(token_id=world.user_token_id), M, "x")
    with pytest.raises(InvalidRequest):
        await admin.add(BOOT, ScopeRef(org="acme"), M, "  ")


async def test_authorization(admin: ExclusionsAdmin, world: World) -> None:
    await admin.add(member(world, "oa"), ScopeRef(user="u@acme.test"), M, "x")
    for actor in ("u", "ob", "ta"):
        with pytest.raises(PermissionDenied):
            await admin.add(member(world, actor), ScopeRef(user="u@acme.test"), M, "y")
    await admin.show(member(world, "u"), ScopeRef(user="u@acme.test"))
    with pytest.raises(PermissionDenied):
        await admin.show(member(world, "u"), ScopeRef(user="other@acme.test"))
