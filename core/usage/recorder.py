"""The usage writer: `record()` only appends to memory; a background task writes batches (in as few driver
calls as the backend needs, core.usage.bulk_insert) every `usage_flush_interval_seconds`, or sooner once
`usage_batch_size` records wait. The same transaction adds the batch to the per-minute and per-hour rollups
(core.usage.rollups).

Failures are logged and retried with backoff; the records stay queued. Memory stays bounded while the database
is down: past `max_pending` the oldest records are dropped, and the drop is logged with a count."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC
from typing import Any

from sqlalchemy import Table
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.tables import UsageRecordRow
from core.settings import Settings
from core.usage.bulk_insert import insert_rows
from core.usage.events import UsageEvent
from core.usage.rollups import write_rollups

log = logging.getLogger(__name__)

# Records kept in memory while writes fail, as a multiple of usage_batch_size (~500 bytes each: the default
# 100 x 500 records is ~25 MB).
DEFAULT_MAX_PENDING_BATCHES = 100
# Longest wait between retries of a failing write.
MAX_RETRY_DELAY_SECONDS = 30.0
# Attempts at the final flush on close before the remaining records are given up (and logged).
CLOSE_ATTEMPTS = 3

_TABLE: Table = UsageRecordRow.metadata.tables["usage_records"]
_EVENT_FIELDS = tuple(f.name for f in fields(UsageEvent))
# sqlmodel's AutoString is a TypeDecorator over String: ask for the length through the attribute.
_MAX_LENGTHS: dict[str, int] = {
    c.name: length for c in _TABLE.columns if isinstance(length := getattr(c.type, "length", None), int)
}


def event_row(event: UsageEvent) -> dict[str, Any]:
    """The usage_records row of an event. Over-long strings are cut to their column (PostgreSQL would reject
    the whole batch); a naive timestamp is taken as UTC."""
    row = {name: getattr(event, name) for name in _EVENT_FIELDS}  # asdict() deep-copies: 3x slower
    for name, limit in _MAX_LENGTHS.items():
        value = row.get(name)
        if isinstance(value, str) and len(value) > limit:
            row[name] = value[:limit]
    if row["created_at"].tzinfo is None:
        row["created_at"] = row["created_at"].replace(tzinfo=UTC)
    return row


class UsageRecorder:
    """Implements core.usage.events.UsageSink. `start()` once the loop runs; `close()` on shutdown flushes."""

    def __init__(self, engine: AsyncEngine, settings: Settings, *, max_pending: int | None = None) -> None:
        self._engine = engine
        self._interval = settings.usage_flush_interval_seconds
        self._batch_size = max(1, settings.usage_batch_size)
        self._max_pending = max_pending or self._batch_size * DEFAULT_MAX_PENDING_BATCHES
        self._pending: deque[UsageEvent] = deque()
        self._wake = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._failures = 0
        self.dropped = 0  # records given up (memory bound or unwritable); exposed for metrics and tests
        self.written = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def record(self, event: UsageEvent) -> None:
        """Never blocks and never raises into the request path."""
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % self._batch_size == 0:
                log.error("usage queue full (%d records); dropped %d oldest so far", self._max_pending, self.dropped)
        self._pending.append(event)
        if len(self._pending) >= self._batch_size:
            self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="usage-recorder")

    async def close(self) -> None:
        """Stop the background task and write everything still queued."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            # Holding the lock means no batch is half-written: the task is idle or waiting, safe to cancel.
            async with self._write_lock:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for attempt in range(CLOSE_ATTEMPTS):
            while self._pending and await self.flush():
                pass
            if not self._pending:
                return
            await asyncio.sleep(min(self._interval * 2**attempt, MAX_RETRY_DELAY_SECONDS))
        if self._pending:
            self.dropped += len(self._pending)
            log.error("usage writer closing: %d records could not be written", len(self._pending))
            self._pending.clear()

    async def flush(self) -> bool:
        """Write the records queued when it is called, batch by batch; False if a write failed (the rest stay
        queued). Records arriving meanwhile wait for the next flush: draining until the queue is empty would,
        under steady traffic, write a tiny batch after every write and lose the batching."""
        async with self._write_lock:
            remaining = len(self._pending)
            while remaining and self._pending:
                batch = [self._pending.popleft() for _ in range(min(self._batch_size, remaining, len(self._pending)))]
                remaining -= len(batch)
                try:
                    await self._write(batch)
                except asyncio.CancelledError:
                    self._pending.extendleft(reversed(batch))  # not lost: close() writes it
                    raise
                except Exception:
                    self._failures += 1
                    self._pending.extendleft(reversed(batch))
                    log.exception("usage write of %d records failed (attempt %d)", len(batch), self._failures)
                    return False
                self._failures = 0
        return True

    async def _run(self) -> None:
        while True:
            delay = self._interval if not self._failures else self._interval * 2**self._failures
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(delay, MAX_RETRY_DELAY_SECONDS))
            self._wake.clear()
            await self.flush()

    async def _write(self, batch: Sequence[UsageEvent]) -> None:
        rows = [event_row(e) for e in batch]
        try:
            async with self._engine.begin() as conn:
                await insert_rows(conn, _TABLE, rows)
                await write_rollups(conn, rows)
        except (DataError, IntegrityError):
            # A bad row must not block the queue forever: write the others one by one and drop it.
            await self._write_one_by_one(rows)
        self.written += len(rows)

    async def _write_one_by_one(self, rows: list[dict[str, Any]]) -> None:
        for row in list(rows):
            try:
                async with self._engine.begin() as conn:
                    await insert_rows(conn, _TABLE, [row])
                    await write_rollups(conn, [row])
            except (DataError, IntegrityError):
                log.exception("usage record %s cannot be stored; dropped", row.get("request_id"))
                rows.remove(row)
                self.dropped += 1
