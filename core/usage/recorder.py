"""The usage writer: `record()` only appends to memory; a background task writes batches (in as few driver
calls as the backend needs, core.usage.bulk_insert) every `usage_flush_interval_seconds`, or sooner once
`usage_batch_size` records wait. The same transaction adds the batch to the per-minute and per-hour rollups
(core.usage.rollups).

Failures are logged and retried with backoff; the records stay queued. Memory stays bounded while the database
is down: past `max_pending` the oldest records are dropped, and the drop is logged with a count.

With a spool (core.usage.spool) every event is journaled on disk before it is queued, and each batch moves the
run's checkpoint in its own transaction; `recover()` at start replays what a crashed run left. A row the
database refuses is stored again with its text fields escaped, never silently lost (`cleaned` counts them)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.db.tables import UsageRecordRow, UsageSpoolCheckpointRow
from core.settings import Settings
from core.usage.bulk_insert import insert_rows
from core.usage.events import UsageEvent
from core.usage.rollups import write_rollups
from core.usage.spool import UsageSpool, claim_orphans

log = logging.getLogger(__name__)

# Records kept in memory while writes fail, as a multiple of usage_batch_size (~500 bytes each: the default
# 100 x 500 records is ~25 MB).
DEFAULT_MAX_PENDING_BATCHES = 100
# Longest wait between retries of a failing write.
MAX_RETRY_DELAY_SECONDS = 30.0
# Attempts at the final flush on close before the remaining records are given up (and logged).
CLOSE_ATTEMPTS = 3

_TABLE: Table = UsageRecordRow.metadata.tables["usage_records"]
_CHECKPOINTS: Table = UsageSpoolCheckpointRow.metadata.tables["usage_spool_checkpoints"]
_EVENT_FIELDS = tuple(f.name for f in fields(UsageEvent))
# An upstream's error text is kept for diagnosis, not archived: a 50 MB error body must not become a 50 MB row.
MAX_ERROR_MESSAGE_CHARS = 4096
# sqlmodel's AutoString is a TypeDecorator over String: ask for the length through the attribute.
MAX_TEXT_LENGTHS: dict[str, int] = {
    c.name: length for c in _TABLE.columns if isinstance(length := getattr(c.type, "length", None), int)
} | {"error_message": MAX_ERROR_MESSAGE_CHARS}


def event_row(event: UsageEvent) -> dict[str, Any]:
    """The usage_records row of an event. Over-long strings are cut to their column (PostgreSQL would reject
    the whole batch), NUL characters removed (PostgreSQL refuses them in text); a naive timestamp is UTC."""
    row = {name: getattr(event, name) for name in _EVENT_FIELDS}  # asdict() deep-copies: 3x slower
    for name, limit in MAX_TEXT_LENGTHS.items():
        value = row.get(name)
        if isinstance(value, str):
            if "\x00" in value:
                value = row[name] = value.replace("\x00", "")
            if len(value) > limit:
                row[name] = value[:limit]
    if row["created_at"].tzinfo is None:
        row["created_at"] = row["created_at"].replace(tzinfo=UTC)
    return row


def escaped_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row the database refused, with every text field reduced to printable ASCII escapes: what the request
    was, who made it and what it cost survive whatever the text held."""
    cleaned = dict(row)
    for name, limit in MAX_TEXT_LENGTHS.items():
        value = cleaned.get(name)
        if isinstance(value, str):
            cleaned[name] = value.encode("unicode_escape").decode("ascii")[:limit]
    return cleaned


class UsageRecorder:
    """Implements core.usage.events.UsageSink. `start()` once the loop runs; `close()` on shutdown flushes."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        *,
        max_pending: int | None = None,
        spool: UsageSpool | None = None,
    ) -> None:
        self._engine = engine
        self._spool = spool
        self._interval = settings.usage_flush_interval_seconds
        self._batch_size = max(1, settings.usage_batch_size)
        self._max_pending = max_pending or self._batch_size * DEFAULT_MAX_PENDING_BATCHES
        # (event, spool sequence number; 0 without a spool)
        self._pending: deque[tuple[UsageEvent, int]] = deque()
        self._wake = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._failures = 0
        self.dropped = 0  # records given up (memory bound or unwritable); exposed for metrics and tests
        self.cleaned = 0  # records stored with escaped text after the database refused them as they were
        self.written = 0

    @property
    def pending(self) -> int:
        return len(self._pending)

    def begin(self, event: UsageEvent) -> int | None:
        """A request is going upstream: journaled, so a crash before it finishes still bills it."""
        return None if self._spool is None else self._spool.begin(event)

    def record(self, event: UsageEvent, begun: int | None = None) -> None:
        """Never blocks and never raises into the request path."""
        seq = 0 if self._spool is None else self._spool.finish(event, begun)
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % self._batch_size == 0:
                log.error("usage queue full (%d records); dropped %d oldest so far", self._max_pending, self.dropped)
        self._pending.append((event, seq))
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
                await self._close_spool()
                return
            await asyncio.sleep(min(self._interval * 2**attempt, MAX_RETRY_DELAY_SECONDS))
        if self._pending:
            kept = " (kept in the usage spool for the next start)" if self._spool and not self._spool.broken else ""
            log.error("usage writer closing: %d records could not be written%s", len(self._pending), kept)
            self.dropped += len(self._pending)
            self._pending.clear()
            if self._spool is not None:
                self._spool.close(all_committed=False)

    async def _close_spool(self) -> None:
        """Everything is written: the run's journal and checkpoint are no longer needed."""
        if self._spool is None:
            return
        try:
            async with self._engine.begin() as conn:
                await conn.execute(_CHECKPOINTS.delete().where(_CHECKPOINTS.c.run_id == self._spool.run_id))
        except Exception:
            log.exception("usage spool checkpoint of run %s not removed", self._spool.run_id)
        self._spool.close(all_committed=True)

    async def recover(self) -> int:
        """Replays the journals that crashed runs left (before serving, so their rows precede new ones);
        returns how many records it stored."""
        if self._spool is None:
            return 0
        stored = 0
        for run in claim_orphans(self._spool.directory):
            try:
                finished, interrupted = run.events()
                async with self._engine.begin() as conn:
                    done = await conn.scalar(
                        _CHECKPOINTS.select()
                        .with_only_columns(_CHECKPOINTS.c.seq)
                        .where(_CHECKPOINTS.c.run_id == run.run_id)
                    )
                rows = [event_row(e) for seq, e in finished if seq > (done or 0)] + [event_row(e) for e in interrupted]
                if rows:
                    await self._write_rows(rows, None)
                async with self._engine.begin() as conn:
                    await conn.execute(_CHECKPOINTS.delete().where(_CHECKPOINTS.c.run_id == run.run_id))
            except Exception:
                log.exception("usage spool run %s could not be replayed; kept for the next start", run.run_id)
                run.release()
                continue
            run.delete()
            stored += len(rows)
            log.info(
                "usage spool: recovered %d records of an earlier run (%d of them interrupted in flight)",
                len(rows),
                len(interrupted),
            )
        return stored

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
                    await self._write([event for event, _ in batch], batch[-1][1])
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
            if self._spool is not None:
                await asyncio.to_thread(self._spool.sync)

    async def _write(self, batch: Sequence[UsageEvent], last_seq: int) -> None:
        """Writes a batch; `last_seq` (the spool sequence number of its last event, 0 without a spool) moves
        the run's checkpoint in the same transaction."""
        await self._write_rows([event_row(e) for e in batch], last_seq or None)
        if self._spool is not None and last_seq:
            self._spool.committed(last_seq)

    async def _write_rows(self, rows: list[dict[str, Any]], last_seq: int | None) -> None:
        try:
            async with self._engine.begin() as conn:
                await insert_rows(conn, _TABLE, rows)
                await write_rollups(conn, rows)
                await self._checkpoint(conn, last_seq)
        except (DataError, IntegrityError):
            # A bad row must not block the queue forever: the others go one by one, it goes escaped.
            await self._write_one_by_one(rows, last_seq)
        self.written += len(rows)

    async def _write_one_by_one(self, rows: list[dict[str, Any]], last_seq: int | None) -> None:
        for row in list(rows):
            for attempt in (row, escaped_row(row)):
                try:
                    async with self._engine.begin() as conn:
                        await insert_rows(conn, _TABLE, [attempt])
                        await write_rollups(conn, [attempt])
                except (DataError, IntegrityError) as exc:
                    refused = exc
                    continue
                if attempt is not row:
                    self.cleaned += 1
                    log.warning("usage record %r stored with escaped text: %s", row.get("request_id"), refused.orig)
                break
            else:
                log.error("usage record %r cannot be stored; dropped: %s", row.get("request_id"), refused.orig)
                rows.remove(row)
                self.dropped += 1
        async with self._engine.begin() as conn:
            await self._checkpoint(conn, last_seq)

    async def _checkpoint(self, conn: AsyncConnection, last_seq: int | None) -> None:
        if self._spool is None or last_seq is None:
            return
        await conn.execute(_checkpoint_upsert(conn.dialect.name), {"run_id": self._spool.run_id, "seq": last_seq})


@functools.cache
def _checkpoint_upsert(dialect: str) -> Any:
    insert = pg_insert(_CHECKPOINTS) if dialect == "postgresql" else sqlite_insert(_CHECKPOINTS)
    return insert.on_conflict_do_update(index_elements=["run_id"], set_={"seq": insert.excluded.seq})
