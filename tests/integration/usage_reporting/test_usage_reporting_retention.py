"""Retention: raw records, minute and hour rollups each go after their own period, in small batches; the
background purger runs the purge and survives its failures. Export streams raw records in batches."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.auth.principal import Principal, Role
from core.settings import Settings
from core.usage.export import export_records
from core.usage.recorder import UsageRecorder
from core.usage.retention import RECORDS_TABLE, PurgeResult, RetentionPurger, purge_expired
from core.usage.rollups import HOUR_TABLE, MINUTE_TABLE
from core.usage.visibility import usage_filter
from tests.support.usage_events import T0, event
from tests.support.waiting import async_wait_until

NOW = T0 + timedelta(days=100)


async def count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar() or 0)  # type: ignore[arg-type]


async def test_purge_keeps_each_table_for_its_own_period(engine: AsyncEngine) -> None:
    recorder = UsageRecorder(engine, Settings())
    ages = [99, 95, 80, 50, 10, 1]  # days before NOW
    for i, days in enumerate(ages):
        for j in range(4):
            recorder.record(event(i * 10 + j, created_at=NOW - timedelta(days=days, minutes=j)))
    assert await recorder.flush()
    settings = Settings(
        usage_retention_days=30,
        usage_minute_rollup_retention_days=60,
        usage_rollup_retention_days=90,
        usage_purge_batch_size=3,
        usage_purge_pause_seconds=0,
    )
    result = await purge_expired(engine, settings, now=NOW)
    assert result.records == 16  # 99, 95, 80 and 50 days old
    assert await count(engine, RECORDS_TABLE) == 8
    assert result.minute_rollups == 12 and await count(engine, MINUTE_TABLE) == 12
    # each age spans two hours (09:57-10:00)
    assert result.hour_rollups == 4 and await count(engine, HOUR_TABLE) == 8
    assert await purge_expired(engine, settings, now=NOW) == PurgeResult(0, 0, 0)


async def test_purger_runs_and_survives_failures() -> None:
    calls: list[int] = []

    async def purge(engine: object, settings: Settings) -> PurgeResult:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        return PurgeResult(1, 0, 0)

    purger = RetentionPurger(None, Settings(usage_purge_interval_seconds=0.01), purge=purge)  # type: ignore[arg-type]
    purger.start()
    await async_wait_until(lambda: len(calls) >= 3, what="a purge after the failed one")
    await purger.aclose()


async def test_export_streams_visible_records_in_batches(engine: AsyncEngine) -> None:
    recorder = UsageRecorder(engine, Settings())
    for i in range(7):
        recorder.record(event(i, created_at=T0 + timedelta(seconds=i), org_id="o-1" if i % 2 else "o-2"))
    assert await recorder.flush()
    admin = Principal(role=Role.ADMIN, token_id="t", user_id="x")
    batches = [b async for b in export_records(engine, T0, T0 + timedelta(hours=1), usage_filter(admin, None), 3)]
    assert [len(b) for b in batches] == [3, 3, 1]
    ids = [row["id"] for batch in batches for row in batch]
    assert ids == sorted(ids)
    org_admin = Principal(role=Role.ORG_ADMIN, token_id="t", user_id="x", org_id="o-1")
    visible = [b async for b in export_records(engine, T0, T0 + timedelta(hours=1), usage_filter(org_admin, None), 10)]
    assert [row["request_id"] for row in visible[0]] == ["req-1", "req-3", "req-5"]
