"""Rate limits as resources against a real database: names, updates by field mask with allow_missing,
delete, list pages, effective values with their sources, pools only for orgs and teams, authorization by role
(another org's scopes are NOT_FOUND like absent ones), and the in-memory table following every write at once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.authenticator import Authenticator
from core.auth.principal import Principal
from core.db.engine import create_sessionmaker
from core.errors import InvalidRequest, NotFound, PermissionDenied
from core.governance.limits.admin import LimitsAdmin, Source
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


U = "users/u@acme.test/rateLimits/member"
ORG_MEMBER = "orgs/acme/rateLimits/member"


async def test_update_by_mask_and_the_table_follows(admin: LimitsAdmin, world: World) -> None:
    await admin.update(BOOT, ORG_MEMBER, LimitValues(rpm=10), [], allow_missing=True)
    view = await admin.update(BOOT, ORG_MEMBER, LimitValues(input_tpm=500), ["input_tpm"], allow_missing=False)
    assert view.name == ORG_MEMBER and view.level is Level.MEMBER
    assert view.own == LimitValues(rpm=10, input_tpm=500) and view.usage is None
    org_id = world.orgs["acme"].id
    assert table_of(admin).get(ScopeKind.ORG, org_id) == LimitValues(rpm=10, input_tpm=500)
    # A masked field left unset is removed; the others keep their value.
    view = await admin.update(BOOT, ORG_MEMBER, LimitValues(output_tpm=7), ["rpm", "output_tpm"], allow_missing=False)
    assert view.own == LimitValues(input_tpm=500, output_tpm=7)
    view = await admin.update(BOOT, ORG_MEMBER, LimitValues(), ["*"], allow_missing=False)
    assert view.own == LimitValues() and table_of(admin).rows == {}  # nothing left: nothing stored
    await admin.update(BOOT, "orgs/acme/rateLimits/total", LimitValues(rpm=100), [], allow_missing=True)
    assert table_of(admin).get(ScopeKind.ORG, org_id, pool=True) == LimitValues(rpm=100)


async def test_allow_missing_and_delete(admin: LimitsAdmin, world: World) -> None:
    with pytest.raises(NotFound):
        await admin.update(BOOT, U, LimitValues(rpm=1), ["rpm"], allow_missing=False)
    await admin.update(BOOT, U, LimitValues(rpm=1), ["rpm"], allow_missing=True)
    await admin.update(BOOT, U, LimitValues(rpm=2), ["rpm"], allow_missing=False)
    await admin.delete(BOOT, U)
    assert table_of(admin).rows == {}
    with pytest.raises(NotFound):
        await admin.delete(BOOT, U)
    # Deleted, the rate limit still reads: it shows what it inherits.
    assert (await admin.get(BOOT, U)).own == LimitValues()


async def test_user_limit_shows_override_and_sources(admin: LimitsAdmin, world: World) -> None:
    await admin.update(BOOT, ORG_MEMBER, LimitValues(rpm=10, output_tpm=50), [], allow_missing=True)
    await admin.update(BOOT, U, LimitValues(rpm=99), [], allow_missing=True)
    view = await admin.get(world.actors["u"], U)
    assert view.own == LimitValues(rpm=99) and view.effective == LimitValues(rpm=99, output_tpm=50)
    assert view.sources == (
        Source(Level.MEMBER, "users/u@acme.test"),
        None,
        Source(Level.MEMBER, "orgs/acme"),
    )
    assert view.usage is not None and view.usage.used == (0, 0, 0, 0)
    # The team's member limit (its service accounts') inherits from the org's the same way.
    team = await admin.get(BOOT, "orgs/acme/teams/eng/rateLimits/member")
    assert team.effective == LimitValues(rpm=10, output_tpm=50) and team.usage is None


async def test_token_and_team_scopes_and_list_pages(admin: LimitsAdmin, world: World) -> None:
    token = f"tokens/{world.user_token_id}/rateLimits/token"
    view = await admin.update(BOOT, token, LimitValues(output_tpm=7), [], allow_missing=True)
    assert view.level is Level.TOKEN and view.sources[2] == Source(Level.TOKEN, f"tokens/{world.user_token_id}")
    await admin.update(BOOT, "orgs/acme/teams/eng/rateLimits/total", LimitValues(rpm=3), [], allow_missing=True)
    views, next_token = await admin.list_limits(BOOT, "orgs/acme/teams/eng", 0, "")
    assert [(v.name, v.level) for v in views] == [
        ("orgs/acme/teams/eng/rateLimits/member", Level.MEMBER),
        ("orgs/acme/teams/eng/rateLimits/total", Level.TEAM_POOL),
    ]
    assert next_token == "" and views[1].own == LimitValues(rpm=3)
    first, token_1 = await admin.list_limits(BOOT, "orgs/acme", 1, "")
    second, token_2 = await admin.list_limits(BOOT, "orgs/acme", 1, token_1)
    assert [v.name for v in first + second] == [ORG_MEMBER, "orgs/acme/rateLimits/total"]
    assert token_1 and token_2 == ""
    with pytest.raises(InvalidRequest):
        await admin.list_limits(BOOT, "orgs/acme", -1, "")
    with pytest.raises(InvalidRequest):
        await admin.list_limits(BOOT, "orgs/acme", 1, "not a token!")


async def test_invalid_requests(admin: LimitsAdmin, world: World) -> None:
    with pytest.raises(InvalidRequest, match="org or a team"):
        await admin.update(BOOT, "users/u@acme.test/rateLimits/total", LimitValues(rpm=1), [], allow_missing=True)
    with pytest.raises(InvalidRequest):
        await admin.update(BOOT, U, LimitValues(), [], allow_missing=True)
    with pytest.raises(InvalidRequest):
        await admin.update(BOOT, U, LimitValues(rpm=-1), [], allow_missing=True)
    with pytest.raises(InvalidRequest):
        await admin.update(BOOT, U, LimitValues(rpm=2**31), [], allow_missing=True)
    with pytest.raises(InvalidRequest):
        await admin.update(BOOT, U, LimitValues(rpm=1), ["rpm", "window"], allow_missing=True)
    for name in ("acme/rateLimits/member", "orgs/acme/teams/rateLimits/member", "orgs/acme/limits/member", "orgs/acme"):
        with pytest.raises(InvalidRequest):
            await admin.get(BOOT, name)
    with pytest.raises(InvalidRequest):
        await admin.get(BOOT, f"tokens/{world.user_token_id}/rateLimits/member")
    with pytest.raises(NotFound):
        await admin.update(BOOT, "orgs/nope/rateLimits/member", LimitValues(rpm=1), [], allow_missing=True)


@pytest.mark.parametrize(
    ("actor", "name", "outcome"),
    [
        ("oa", ORG_MEMBER, None),
        ("oa", U, None),
        ("oa", "orgs/globex/rateLimits/member", NotFound),
        ("ob", U, NotFound),
        ("u", U, PermissionDenied),
        ("ta", "orgs/acme/teams/eng/rateLimits/member", PermissionDenied),
        ("sa", "orgs/acme/teams/eng/rateLimits/member", PermissionDenied),
        ("admin", "orgs/globex/rateLimits/member", None),
    ],
)
async def test_who_may_change_limits(
    admin: LimitsAdmin, world: World, actor: str, name: str, outcome: type[Exception] | None
) -> None:
    p: Principal = world.actors[actor]
    if outcome is None:
        await admin.update(p, name, LimitValues(rpm=5), [], allow_missing=True)
        await admin.delete(p, name)
    else:
        with pytest.raises(outcome):
            await admin.update(p, name, LimitValues(rpm=5), [], allow_missing=True)
        await admin.update(BOOT, name, LimitValues(rpm=5), [], allow_missing=True)
        with pytest.raises(outcome):
            await admin.delete(p, name)


async def test_who_may_read_limits(admin: LimitsAdmin, world: World) -> None:
    u = world.actors["u"]
    await admin.get(u, U)
    await admin.list_limits(u, "orgs/acme", 0, "")
    await admin.get(u, f"tokens/{world.user_token_id}/rateLimits/token")
    with pytest.raises(PermissionDenied):
        await admin.get(u, "users/other@acme.test/rateLimits/member")


async def test_another_orgs_scopes_are_not_found_like_absent_ones(admin: LimitsAdmin, world: World) -> None:
    ub = world.actors["ub"]
    for existing, absent in (
        ("orgs/acme", "orgs/nope"),
        ("users/u@acme.test", "users/nobody@acme.test"),
        (f"tokens/{world.user_token_id}", "tokens/0123456789abcdef"),
        ("orgs/acme/teams/eng", "orgs/acme/teams/nope"),
    ):
        with pytest.raises(NotFound) as seen:
            await admin.list_limits(ub, existing, 0, "")
        with pytest.raises(NotFound) as missing:
            await admin.list_limits(ub, absent, 0, "")
        assert str(seen.value) == f"{existing} not found" and str(missing.value) == f"{absent} not found"
