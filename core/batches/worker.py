"""The batch worker every core replica runs: validates new batches, claims lines of running ones and executes
them (bounded per batch and per process), ends batches that are done, cancelled or past their window, and
sweeps expired files. All state is in the database (core.batches.store), so a replica that dies loses nothing:
its claims run out and another replica carries on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import defaultdict
from typing import Any

import orjson

from core.batches.execution import LineRateLimited, LineRunner, internal_error_line, principal_from_json
from core.batches.finalize import finalize
from core.batches.model import LineError, LineState, Status
from core.batches.store import BatchStore, ClaimedLine, LineResult
from core.batches.validation import validate_into
from core.db.types import utcnow
from core.files.files import Files
from core.settings import Settings

log = logging.getLogger("aqueduct.core.batches")

# Results are written together: one transaction per flush instead of one per line.
_FLUSH_SECONDS = 0.05
# After a wake-up, how long the worker lets more events gather before its next pass.
_COALESCE_SECONDS = 0.02
# How long a batch waits before claiming again after its creator's rate limit refused a line.
_DEFAULT_BACKOFF_SECONDS = 1.0


def new_worker_id() -> str:
    return f"{socket.gethostname()[:32]}-{os.getpid()}-{secrets.token_hex(4)}"


class BatchWorker:
    def __init__(self, store: BatchStore, files: Files, runner: LineRunner, settings: Settings) -> None:
        self._store = store
        self._files = files
        self._runner = runner
        self._settings = settings
        self._running: dict[str, int] = defaultdict(int)
        self._total_running = 0
        self._backoff: dict[str, float] = {}
        self._results: list[LineResult] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._next_sweep = 0.0
        self._inflight: set[tuple[str, int]] = set()

    def _inflight_lines(self) -> dict[str, list[int]]:
        by_batch: dict[str, list[int]] = defaultdict(list)
        for batch_id, line_no in self._inflight:
            by_batch[batch_id].append(line_no)
        return by_batch

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._main(), name="batch-worker"),
            asyncio.create_task(self._renew(), name="batch-leases"),
            asyncio.create_task(self._flush_loop(), name="batch-results"),
        ]

    def wake(self) -> None:
        self._wake.set()

    async def aclose(self) -> None:
        """Stops taking work and drops what is in flight: those lines are claimed by nobody once their lease
        runs out, and run again (here after a restart, or on another replica)."""
        inflight = self._inflight_lines()
        for task in [*self._loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._flush()
            # Lines cut short are given back at once rather than after their lease.
            for batch_id, line_nos in inflight.items():
                await self._store.release_lines(batch_id, line_nos)

    async def _main(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("batch worker pass failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.batch_poll_interval_seconds)
            # Lines finishing together wake the loop once: a pass costs a few queries, not one per line.
            await asyncio.sleep(_COALESCE_SECONDS)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._settings.batch_lease_seconds / 3)
            try:
                await self._store.renew()
            except Exception:
                log.exception("renewing batch claims failed")

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(_FLUSH_SECONDS)
            try:
                await self._flush()
            except Exception:
                log.exception("writing batch line results failed; they run again after their lease")

    async def _flush(self) -> None:
        if self._results:
            results, self._results = self._results, []
            await self._store.finish_lines(results)
            self.wake()

    async def tick(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self._settings.file_sweep_interval_seconds
            await self._files.sweep_expired()
        for batch in await self._store.batches_in((Status.VALIDATING,)):
            await self._validate(batch)
        for batch in await self._store.batches_in((Status.FINALIZING, Status.CANCELLING)):
            await self._end(batch)
        for batch in await self._store.batches_in((Status.IN_PROGRESS,)):
            if batch.expires_at <= utcnow():
                await self._expire(batch)
            elif await self._store.unfinished(batch.id) == 0:
                if await self._store.claim_batch(
                    batch.id, Status.IN_PROGRESS, status=Status.FINALIZING.value, finalizing_at=utcnow()
                ):
                    await finalize(self._store, self._files, batch, Status.COMPLETED)
            else:
                await self._fill(batch)

    async def _validate(self, batch: Any) -> None:
        if batch.expires_at <= utcnow():
            await self._store.set_batch(
                batch.id, (Status.VALIDATING,), status=Status.EXPIRED.value, expired_at=utcnow()
            )
            return
        if not await self._store.claim_batch(batch.id, Status.VALIDATING):
            return
        input_row = await self._input_row(batch.input_file_id)
        if input_row is None:
            result_errors = [LineError("file_not_found", "The input file was deleted before the batch started.")]
            lines = 0
        else:
            result = await validate_into(
                self._store,
                batch.id,
                batch.endpoint,
                self._files.read_unchecked(input_row),
                max_lines=self._settings.max_batch_input_lines,
                max_line_bytes=self._settings.max_request_body_bytes,
            )
            result_errors, lines = result.errors, result.lines
        now = utcnow()
        if result_errors:
            errors = [{"code": e.code, "message": e.message, "param": e.param, "line": e.line} for e in result_errors]
            await self._store.set_batch(
                batch.id,
                (Status.VALIDATING,),
                status=Status.FAILED.value,
                failed_at=now,
                errors_json=orjson.dumps(errors).decode(),
                total=lines,
                claimed_by=None,
                claim_until=None,
            )
            return
        started = await self._store.set_batch(
            batch.id,
            (Status.VALIDATING,),
            status=Status.IN_PROGRESS.value,
            in_progress_at=now,
            total=lines,
            claimed_by=None,
            claim_until=None,
        )
        if not started:  # cancelled while validating
            await self._store.close_unfinished(batch.id, LineState.CANCELLED)
        self.wake()

    async def _input_row(self, file_id: str) -> str | None:
        from core.db.tables import FileRow

        async with self._store.engine.connect() as connection:
            from sqlalchemy import select

            table = FileRow.__table__  # type: ignore[attr-defined]
            row = (await connection.execute(select(table.c.storage_key).where(table.c.id == file_id))).first()
        return None if row is None else str(row.storage_key)

    async def _expire(self, batch: Any) -> None:
        if await self._store.claim_batch(batch.id, Status.IN_PROGRESS):
            await self._store.close_unfinished(batch.id, LineState.EXPIRED)
            await finalize(self._store, self._files, batch, Status.EXPIRED)

    async def _end(self, batch: Any) -> None:
        status = Status(batch.status)
        if status is Status.CANCELLING:
            if await self._store.unfinished(batch.id, live_only=True):
                return  # lines in flight finish first; their results stay in the output file
            if await self._store.claim_batch(batch.id, Status.CANCELLING):
                await self._store.close_unfinished(batch.id, LineState.CANCELLED)
                await finalize(self._store, self._files, batch, Status.CANCELLED)
        elif await self._store.claim_batch(batch.id, Status.FINALIZING):
            await finalize(self._store, self._files, batch, Status.COMPLETED)

    async def _fill(self, batch: Any) -> None:
        settings = self._settings
        if self._backoff.get(batch.id, 0.0) > time.monotonic():
            return
        room = min(
            settings.batch_concurrency_per_process - self._total_running,
            settings.batch_concurrency_per_batch - self._running[batch.id],
        )
        if room <= 0:
            return
        lines = await self._store.claim_lines(batch.id, room)
        if not lines:
            return
        principal = principal_from_json(batch.creator_json)
        for line in lines:
            self._running[batch.id] += 1
            self._total_running += 1
            task = asyncio.create_task(self._run_line(batch.endpoint, line, principal))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_line(self, endpoint: str, line: ClaimedLine, principal: Any) -> None:
        key = (line.batch_id, line.line_no)
        self._inflight.add(key)
        try:
            outcome = await self._runner.run(endpoint, line.custom_id, line.body, principal)
        except LineRateLimited as limited:
            delay = limited.retry_after or _DEFAULT_BACKOFF_SECONDS
            self._backoff[line.batch_id] = time.monotonic() + delay
            await self._store.release_lines(line.batch_id, [line.line_no])
        except Exception:
            # A bug, not the line's fault, but running it again would fail again: it ends as a 500.
            log.exception("batch %s line %d failed unexpectedly", line.batch_id, line.line_no)
            self._results.append(
                LineResult(
                    line.batch_id,
                    line.line_no,
                    LineState.FAILED,
                    orjson.dumps(internal_error_line(line.custom_id)).decode(),
                )
            )
        else:
            state = LineState.DONE if outcome.ok else LineState.FAILED
            self._results.append(LineResult(line.batch_id, line.line_no, state, orjson.dumps(outcome.line).decode()))
        finally:
            self._inflight.discard(key)
            self._running[line.batch_id] -= 1
            self._total_running -= 1
            if not self._running[line.batch_id]:
                del self._running[line.batch_id]
            self.wake()
