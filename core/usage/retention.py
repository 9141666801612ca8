"""Retention: raw usage records older than usage_retention_days, minute rollups older than
usage_minute_rollup_retention_days and hour rollups older than usage_rollup_retention_days are deleted in
small batches (one short transaction each, a pause between), so the tables are never locked for long and
the usage writer keeps writing. Every replica runs the purge; two purging at once only share the work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.tables import UsageRecordRow
from core.db.types import utcnow
from core.settings import Settings
from core.usage.rollups import HOUR_TABLE, MINUTE_TABLE

log = logging.getLogger("aqueduct.core.usage")

RECORDS_TABLE: Table = UsageRecordRow.metadata.tables["usage_records"]


@dataclass(frozen=True, slots=True)
class PurgeResult:
    records: int
    minute_rollups: int
    hour_rollups: int


async def _purge_table(
    engine: AsyncEngine, table: Table, column: str, cutoff: datetime, batch: int, pause: float
) -> int:
    deleted = 0
    while True:
        oldest = select(table.c.id).where(table.c[column] < cutoff).order_by(table.c.id).limit(batch)
        async with engine.begin() as conn:
            result = await conn.execute(delete(table).where(table.c.id.in_(oldest.scalar_subquery())))
        count = result.rowcount or 0
        deleted += count
        if count < batch:
            return deleted
        await asyncio.sleep(pause)


async def purge_expired(engine: AsyncEngine, settings: Settings, now: datetime | None = None) -> PurgeResult:
    now = now or utcnow()
    batch = max(1, settings.usage_purge_batch_size)
    pause = settings.usage_purge_pause_seconds
    plan = (
        (RECORDS_TABLE, "created_at", settings.usage_retention_days),
        (MINUTE_TABLE, "bucket_start", settings.usage_minute_rollup_retention_days),
        (HOUR_TABLE, "bucket_start", settings.usage_rollup_retention_days),
    )
    counts = [
        await _purge_table(engine, table, column, now - timedelta(days=days), batch, pause)
        for table, column, days in plan
    ]
    return PurgeResult(*counts)


class RetentionPurger:
    """Runs `purge_expired` every usage_purge_interval_seconds; the first run comes after a random part of
    the interval so replicas started together do not purge together."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        *,
        purge: Callable[[AsyncEngine, Settings], Awaitable[PurgeResult]] = purge_expired,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._purge = purge
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="usage-retention")

    async def _run(self) -> None:
        interval = self._settings.usage_purge_interval_seconds
        await asyncio.sleep(random.uniform(0, interval))
        while True:
            try:
                result = await self._purge(self._engine, self._settings)
                if result.records or result.minute_rollups or result.hour_rollups:
                    log.info(
                        "usage retention: deleted %d records, %d minute and %d hour rollups",
                        result.records,
                        result.minute_rollups,
                        result.hour_rollups,
                    )
            except Exception:
                log.exception("usage retention purge failed; retrying in %.0f s", interval)
            await asyncio.sleep(interval)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
