"""The usage writer maintains minute and hour rollups in the same transaction as the raw rows: sums match
the raw table, several writers add up, and latency histograms land in the right buckets."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.settings import Settings
from core.usage.events import UsageEvent
from core.usage.histogram import BOUNDS_MS, COLUMNS, bucket_of, percentile
from core.usage.recorder import UsageRecorder
from core.usage.rollups import HOUR_TABLE, MINUTE_TABLE
from tests.support.usage_events import T0, event


async def write(engine: AsyncEngine, events: list[UsageEvent]) -> None:
    recorder = UsageRecorder(engine, Settings(usage_batch_size=3))
    for e in events:
        recorder.record(e)
    assert await recorder.flush()


async def test_rollups_sum_what_was_written(engine: AsyncEngine) -> None:
    events = [event(i, created_at=T0 + timedelta(seconds=20 * i), status=500 if i == 4 else 200) for i in range(7)]
    await write(engine, events)
    await write(engine, [event(99, created_at=T0 + timedelta(seconds=1))])  # a second writer, same bucket
    async with engine.connect() as conn:
        minute = (await conn.execute(select(MINUTE_TABLE).order_by(MINUTE_TABLE.c.bucket_start))).all()
        hour = (await conn.execute(select(HOUR_TABLE))).all()
        raw_inputs = (await conn.execute(select(func.count()).select_from(MINUTE_TABLE))).scalar()
    assert raw_inputs == len(minute)
    assert sum(r.requests for r in minute) == sum(r.requests for r in hour) == 8
    assert sum(r.failed for r in hour) == 1
    assert sum(r.input_tokens for r in hour) == 80 and sum(r.output_tokens for r in hour) == 40
    assert {r.status for r in hour} == {200, 500}
    first = minute[0]
    assert first.bucket_start == T0 and first.requests == 4  # 0 s, 20 s, 40 s and the second writer's 1 s
    assert first.end_user_id == "" and first.team_id == ""
    assert getattr(first, COLUMNS[bucket_of(100.0)]) == 4


def test_histogram_percentiles_are_close() -> None:
    latencies = [float(v) for v in range(1, 1001)]
    counts = [0] * len(COLUMNS)
    for v in latencies:
        counts[bucket_of(v)] += 1
    p95 = percentile(counts, 0.95)
    assert p95 is not None and 950 * 0.8 <= p95 <= 950 * 1.2
    assert percentile([0] * len(COLUMNS), 0.95) is None
    assert bucket_of(0) == 0 and bucket_of(BOUNDS_MS[-1] * 10) == len(COLUMNS) - 1
