"""Reports from the rollups: totals, group-bys, buckets, ranges spanning minute and hour rollups, and who
sees what (admin everything, org-admin their org, a user their own including requests whose user_id is their
email, a service account its token)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.principal import Principal, Role
from core.errors import InvalidRequest, NotFound, PermissionDenied
from core.governance.access.scope import Scope
from core.governance.limits.model import ScopeKind
from core.settings import Settings
from core.usage.recorder import UsageRecorder
from core.usage.report import (
    Bucket,
    GroupBy,
    UsageQuery,
    UsageReport,
    plan_segments,
    run_report,
)
from core.usage.rollups import HOUR_TABLE, MINUTE_TABLE
from core.usage.visibility import usage_filter
from tests.support.usage_events import T0, event

ADMIN = Principal(role=Role.ADMIN, token_id="t-admin", user_id="u-admin", org_id="o-1")
ORG_ADMIN = Principal(role=Role.ORG_ADMIN, token_id="t-oa", user_id="u-oa", user_email="oa@one.test", org_id="o-1")
ANN = Principal(role=Role.USER, token_id="tok-a", user_id="u-a", user_email="ann@one.test", org_id="o-1")
BOB = Principal(role=Role.USER, token_id="tok-b", user_id="u-b", user_email="bob@two.test", org_id="o-2")
BOT = Principal(
    role=Role.USER, token_id="tok-bot", user_id="u-a", org_id="o-1", team_id="team", service_account_id="sa"
)
LONG_AGO = T0 - timedelta(days=3650)


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncEngine:
    recorder = UsageRecorder(engine, Settings())
    events = [
        # ann, org 1: 3 chat requests (one failed) at 10:00-10:02, one embedding at 11:30
        event(1, created_at=T0),
        event(2, created_at=T0 + timedelta(minutes=1), end_user_id="student-1", latency_ms=300.0),
        event(3, created_at=T0 + timedelta(minutes=2), status=429, input_tokens=0, output_tokens=0),
        event(4, created_at=T0 + timedelta(minutes=90), model="embed", endpoint_path="/v1/embeddings", output_tokens=0),
        # ann's team bot
        event(5, token_id="tok-bot", service_account_id="sa", team_id="team", end_user_id="student-2"),
        # bob in org 2 acting for ann (user_id field = ann's email), and for someone else
        event(6, token_id="tok-b", user_id="u-b", org_id="o-2", end_user_id="ann@one.test"),
        event(7, token_id="tok-b", user_id="u-b", org_id="o-2", end_user_id="zed"),
    ]
    for e in events:
        recorder.record(e)
    assert await recorder.flush()
    return engine


async def report(
    engine: AsyncEngine,
    p: Principal,
    scope: Scope | None = None,
    *,
    since: datetime = T0 - timedelta(hours=1),
    until: datetime = T0 + timedelta(hours=3),
    group_by: GroupBy | None = None,
    bucket: Bucket | None = None,
) -> UsageReport:
    query = UsageQuery(since=since, until=until, group_by=group_by, bucket=bucket)
    async with engine.connect() as conn:
        return await run_report(conn, query, usage_filter(p, scope), LONG_AGO)


async def test_admin_sees_all_with_exact_totals(world: AsyncEngine) -> None:
    r = await report(world, ADMIN)
    assert (r.totals.requests, r.totals.failed, r.totals.input_tokens, r.totals.output_tokens) == (7, 1, 60, 25)
    assert r.totals.avg_latency_ms is not None and r.totals.p95_latency_ms is not None


async def test_group_by_every_dimension(world: AsyncEngine) -> None:
    by = {g: {x.key: x.stats.requests for x in (await report(world, ADMIN, group_by=g)).groups} for g in GroupBy}
    assert by[GroupBy.TOKEN] == {"tok-a": 4, "tok-bot": 1, "tok-b": 2}
    assert by[GroupBy.USER] == {"u-a": 5, "u-b": 2}
    assert by[GroupBy.USER_ID] == {"": 3, "student-1": 1, "student-2": 1, "ann@one.test": 1, "zed": 1}
    assert by[GroupBy.MODEL] == {"gpt": 6, "embed": 1}
    assert by[GroupBy.ORG] == {"o-1": 5, "o-2": 2}
    assert by[GroupBy.ENDPOINT] == {"POST /v1/chat/completions": 6, "POST /v1/embeddings": 1}
    assert by[GroupBy.STATUS] == {"200": 6, "429": 1}


async def test_buckets(world: AsyncEngine) -> None:
    minutes = await report(world, ADMIN, bucket=Bucket.MINUTE)
    assert [(p.start - T0, p.stats.requests) for p in minutes.series] == [
        (timedelta(0), 4),
        (timedelta(minutes=1), 1),
        (timedelta(minutes=2), 1),
        (timedelta(minutes=90), 1),
    ]
    hours = await report(world, ADMIN, bucket=Bucket.HOUR, group_by=GroupBy.MODEL)
    assert [(p.start - T0, p.stats.requests) for p in hours.series] == [(timedelta(0), 6), (timedelta(hours=1), 1)]
    gpt = next(g for g in hours.groups if g.key == "gpt")
    assert [p.stats.requests for p in gpt.series] == [6]
    days = await report(world, ADMIN, bucket=Bucket.DAY)
    assert [p.stats.requests for p in days.series] == [7]


async def test_unaligned_ranges_use_minutes_at_the_ends(world: AsyncEngine) -> None:
    q = UsageQuery(since=T0 + timedelta(minutes=1, seconds=30), until=T0 + timedelta(hours=2, minutes=5))
    segments = plan_segments(q, LONG_AGO)
    assert [(t.name, s - T0, e - T0) for t, s, e in segments] == [
        (MINUTE_TABLE.name, timedelta(minutes=1), timedelta(hours=1)),
        (HOUR_TABLE.name, timedelta(hours=1), timedelta(hours=2)),
        (MINUTE_TABLE.name, timedelta(hours=2), timedelta(hours=2, minutes=5)),
    ]
    r = await report(world, ADMIN, since=q.since, until=q.until)
    assert r.totals.requests == 3  # minute 1, minute 2 and 11:30


async def test_a_user_sees_their_own_and_not_requests_naming_them(world: AsyncEngine) -> None:
    # bob's request in org 2 names ann in its user_id field: it is bob's, not ann's (#3).
    r = await report(world, ANN, group_by=GroupBy.TOKEN)
    assert {g.key: g.stats.requests for g in r.groups} == {"tok-a": 4, "tok-bot": 1}


async def test_groups_come_in_pages(world: AsyncEngine) -> None:
    keys: list[str] = []
    offset: int | None = 0
    while offset is not None:
        query = UsageQuery(
            since=T0 - timedelta(hours=1), until=T0 + timedelta(hours=3), group_by=GroupBy.USER_ID, page_size=2
        )
        async with world.connect() as conn:
            page = await run_report(
                conn, dataclasses.replace(query, offset=offset), usage_filter(ADMIN, None), LONG_AGO
            )
        assert len(page.groups) <= 2 and page.totals.requests == 7
        keys += [g.key for g in page.groups]
        offset = page.next_offset
    assert keys == ["", "ann@one.test", "student-1", "student-2", "zed"]


async def test_an_org_admin_sees_their_org(world: AsyncEngine) -> None:
    r = await report(world, ORG_ADMIN, group_by=GroupBy.ORG)
    assert {g.key: g.stats.requests for g in r.groups} == {"o-1": 5}


async def test_a_service_account_sees_its_token(world: AsyncEngine) -> None:
    assert (await report(world, BOT)).totals.requests == 1


async def test_scopes_narrow_and_are_authorized(world: AsyncEngine) -> None:
    ann_scope = Scope(
        ScopeKind.USER, "u-a", "users/ann@one.test", "o-1", "orgs/one", user_id="u-a", email="ann@one.test"
    )
    # Only ann's own requests, never those naming her in their user_id field (bob's, in org 2).
    assert (await report(world, ADMIN, ann_scope)).totals.requests == 5
    assert (await report(world, ANN, ann_scope)).totals.requests == 5
    assert (await report(world, ORG_ADMIN, ann_scope)).totals.requests == 5
    team = Scope(ScopeKind.TEAM, "team", "orgs/one/teams/t", "o-1", "orgs/one", team_id="team")
    assert (await report(world, ADMIN, team)).totals.requests == 1
    token = Scope(ScopeKind.TOKEN, "tok-a", "tokens/tok-a", "o-1", "orgs/one", user_id="u-a")
    assert (await report(world, ANN, token)).totals.requests == 4
    with pytest.raises(PermissionDenied):
        await report(world, ANN, team)
    # Another org's scope answers as one that does not exist.
    other_org = Scope(ScopeKind.ORG, "o-2", "orgs/two", "o-2", "orgs/two")
    with pytest.raises(NotFound, match=r"^orgs/two not found$"):
        await report(world, ORG_ADMIN, other_org)
    with pytest.raises(NotFound, match=r"^users/ann@one\.test not found$"):
        await report(world, BOB, ann_scope)


async def test_bad_ranges(world: AsyncEngine) -> None:
    with pytest.raises(InvalidRequest):
        await report(world, ADMIN, since=T0, until=T0)
    with pytest.raises(InvalidRequest):
        await report(world, ADMIN, since=T0 - timedelta(days=400), until=T0, bucket=Bucket.MINUTE)
