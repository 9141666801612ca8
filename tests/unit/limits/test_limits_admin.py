"""`limits set|clear|show` against a real database: scopes by name, partial updates, pools only for orgs and
teams, authorization by role, and the in-memory table following every write at once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.authenticator import Authenticator
from core.auth.principal import Principal
from core.db.engine import create_sessionmaker
from core.errors import InvalidRequest, NotFound, PermissionDenied
from core.governance.access.scope import ScopeRef
from core.governance.limits.admin import LimitsAdmin
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.memory_backend import MemoryBackend
from core.governance.limits.model import Level, LimitValues, ScopeKind
from core.governance.limits.snapshot import RefreshingSnapshot
from core.governance.limits.store import LimitTable, load_limit_table
from core.settings import Settings
from core.tenancy import Tenancy
from tests.unit.tenancy.world import BOOT, World, build_world


@pytest.fixture
async def world(engine: AsyncEngine) -> World:
    settings = Settings()
    tenancy = Tenancy.create(create_sessionmaker(engine), Authenticator(engine, settings), settings)
    return await build_world(tenancy)


@pytest.fixture
async def admin(engine: AsyncEngine) -> AsyncIterator[LimitsAdmin]:
    snapshot: RefreshingSnapshot[LimitTable] = RefreshingSnapshot(
        "limits", lambda: load_limit_table(engine), LimitTable(), ttl=60
    )
    await snapshot.start()
    try:
        yield LimitsAdmin(engine, snapshot, FailoverLimiter(MemoryBackend(), None, retry_interval=1))
    finally:
        await snapshot.aclose()


def table_of(admin: LimitsAdmin) -> LimitTable:
    return admin._snapshot.value


async def test_set_merges_dimensions_and_the_table_follows(admin: LimitsAdmin, world: World) -> None:
    org = ScopeRef(org="acme")
    await admin.set_limits(BOOT, org, pool=False, values=LimitValues(rpm=10))
    view = await admin.set_limits(BOOT, org, pool=False, values=LimitValues(input_tpm=500))
    member = view.entries[0]
    assert member.level is Level.MEMBER and member.limits == LimitValues(rpm=10, input_tpm=500)
    org_id = world.orgs["acme"].id
    assert table_of(admin).get(ScopeKind.ORG, org_id) == LimitValues(rpm=10, input_tpm=500)
    await admin.set_limits(BOOT, org, pool=True, values=LimitValues(rpm=100))
    assert table_of(admin).get(ScopeKind.ORG, org_id, pool=True) == LimitValues(rpm=100)


async def test_user_view_shows_override_and_sources(admin: LimitsAdmin, world: World) -> None:
    await admin.set_limits(BOOT, ScopeRef(org="acme"), pool=False, values=LimitValues(rpm=10, output_tpm=50))
    await admin.set_limits(BOOT, ScopeRef(user="u@acme.test"), pool=False, values=LimitValues(rpm=99))
    view = await admin.show_limits(world.actors["u"], ScopeRef(user="u@acme.test"))
    [entry] = view.entries
    assert entry.limits == LimitValues(rpm=99, output_tpm=50)
    assert entry.sources == ("user u@acme.test's own limit", "", "org acme's per-member limit")
    assert entry.usage is not None and entry.usage.used == (0, 0, 0, 0)


async def test_token_and_team_scopes(admin: LimitsAdmin, world: World) -> None:
    view = await admin.set_limits(
        BOOT, ScopeRef(token_id=world.user_token_id), pool=False, values=LimitValues(output_tpm=7)
    )
    assert [e.level for e in view.entries] == [Level.TOKEN]
    view = await admin.set_limits(BOOT, ScopeRef(team="eng", org="acme"), pool=True, values=LimitValues(rpm=3))
    assert [(e.level, e.pool) for e in view.entries] == [(Level.MEMBER, False), (Level.TEAM_POOL, True)]
    assert view.entries[1].limits == LimitValues(rpm=3)


async def test_clear(admin: LimitsAdmin, world: World) -> None:
    await admin.set_limits(BOOT, ScopeRef(user="u@acme.test"), pool=False, values=LimitValues(rpm=1))
    await admin.clear_limits(BOOT, ScopeRef(user="u@acme.test"), pool=False)
    assert table_of(admin).rows == {}
    with pytest.raises(NotFound):
        await admin.clear_limits(BOOT, ScopeRef(user="u@acme.test"), pool=False)


async def test_invalid_requests(admin: LimitsAdmin, world: World) -> None:
    with pytest.raises(InvalidRequest):
        await admin.set_limits(BOOT, ScopeRef(user="u@acme.test"), pool=True, values=LimitValues(rpm=1))
    with pytest.raises(InvalidRequest):
        await admin.set_limits(BOOT, ScopeRef(user="u@acme.test"), pool=False, values=LimitValues())
    with pytest.raises(InvalidRequest):
        await admin.set_limits(BOOT, ScopeRef(user="u@acme.test"), pool=False, values=LimitValues(rpm=-1))
    with pytest.raises(InvalidRequest):
        await admin.set_limits(BOOT, ScopeRef(org="acme", user="u@acme.test"), pool=False, values=LimitValues(rpm=1))
    with pytest.raises(InvalidRequest):
        await admin.set_limits(BOOT, ScopeRef(team="eng"), pool=False, values=LimitValues(rpm=1))
    with pytest.raises(NotFound):
        await admin.set_limits(BOOT, ScopeRef(org="nope"), pool=False, values=LimitValues(rpm=1))


@pytest.mark.parametrize(
    ("actor", "ref", "allowed"),
    [
        ("oa", ScopeRef(org="acme"), True),
        ("oa", ScopeRef(user="u@acme.test"), True),
        ("oa", ScopeRef(org="globex"), False),
        ("ob", ScopeRef(user="u@acme.test"), False),
        ("u", ScopeRef(user="u@acme.test"), False),
        ("ta", ScopeRef(team="eng", org="acme"), False),
        ("sa", ScopeRef(team="eng", org="acme"), False),
        ("admin", ScopeRef(org="globex"), True),
    ],
)
async def test_who_may_change_limits(
    admin: LimitsAdmin, world: World, actor: str, ref: ScopeRef, allowed: bool
) -> None:
    p: Principal = world.actors[actor]
    if allowed:
        await admin.set_limits(p, ref, pool=False, values=LimitValues(rpm=5))
    else:
        with pytest.raises(PermissionDenied):
            await admin.set_limits(p, ref, pool=False, values=LimitValues(rpm=5))


async def test_who_may_read_limits(admin: LimitsAdmin, world: World) -> None:
    await admin.show_limits(world.actors["u"], ScopeRef(user="u@acme.test"))
    await admin.show_limits(world.actors["u"], ScopeRef(org="acme"))
    await admin.show_limits(world.actors["u"], ScopeRef(token_id=world.user_token_id))
    with pytest.raises(PermissionDenied):
        await admin.show_limits(world.actors["u"], ScopeRef(user="other@acme.test"))
    with pytest.raises(PermissionDenied):
        await admin.show_limits(world.actors["ub"], ScopeRef(org="acme"))
