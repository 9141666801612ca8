"""The durable state of batches and their lines, and the claims that let several replicas share the work.

A line is claimed by one worker with a lease (`claimed_by`, `claim_until`): on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so replicas claiming at once take different lines; SQLite serialises writers anyway.
A result is stored only while its worker still holds the claim (`state = 'running' AND claimed_by = me`), so a
line taken over after its lease ran out is written once, by whoever finishes it while holding it: exactly one
output line per input line. The upstream may see a line twice (the first worker died after sending it), so
execution is at-least-once upstream and exactly-once in the output."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.batches.model import Counts, LineState, Status
from core.db.tables import BatchLineRow, BatchRow
from core.db.types import UtcDateTime, utcnow
from core.db.urls import backend

BATCHES = BatchRow.__table__  # type: ignore[attr-defined]
LINES = BatchLineRow.__table__  # type: ignore[attr-defined]

# Lines inserted per statement while validating.
INSERT_BATCH = 500


@dataclass(frozen=True, slots=True)
class ClaimedLine:
    batch_id: str
    line_no: int
    custom_id: str
    body: str


@dataclass(frozen=True, slots=True)
class LineResult:
    batch_id: str
    line_no: int
    state: LineState
    result: str


class BatchStore:
    def __init__(self, engine: AsyncEngine, database_url: str, worker_id: str, lease_seconds: float) -> None:
        self._engine = engine
        self._worker = worker_id
        self._lease = timedelta(seconds=lease_seconds)
        self._skip_locked = " FOR UPDATE SKIP LOCKED" if backend(database_url) == "postgresql" else ""

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    def _until(self) -> datetime:
        return utcnow() + self._lease

    # --- batches ------------------------------------------------------------------------------------------
    async def batch(self, batch_id: str) -> Any | None:
        async with self._engine.connect() as connection:
            return (await connection.execute(select(BATCHES).where(BATCHES.c.id == batch_id))).first()

    async def batches_in(self, statuses: Sequence[Status], limit: int = 100) -> list[Any]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(BATCHES)
                .where(BATCHES.c.status.in_([s.value for s in statuses]))
                .order_by(BATCHES.c.id)
                .limit(limit)
            )
            return list(rows)

    async def claim_batch(self, batch_id: str, current: Status, **changes: Any) -> bool:
        """Takes the batch-wide claim (validation, finalization) if nobody holds a live one; `changes` are
        applied in the same statement."""
        now = utcnow()
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(BATCHES)
                .where(
                    BATCHES.c.id == batch_id,
                    BATCHES.c.status == current.value,
                    or_(
                        BATCHES.c.claimed_by.is_(None),
                        BATCHES.c.claim_until < now,
                        BATCHES.c.claimed_by == self._worker,
                    ),
                )
                .values(claimed_by=self._worker, claim_until=self._until(), **changes)
            )
            return bool(result.rowcount)

    async def set_batch(self, batch_id: str, expect: Sequence[Status] | None = None, **changes: Any) -> bool:
        """Updates the batch (only from one of `expect`, when given); whether it changed."""
        stmt = update(BATCHES).where(BATCHES.c.id == batch_id)
        if expect is not None:
            stmt = stmt.where(BATCHES.c.status.in_([s.value for s in expect]))
        async with self._engine.begin() as connection:
            return bool((await connection.execute(stmt.values(**changes))).rowcount)

    async def counts(self, batch_id: str, total: int) -> Counts:
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(LINES.c.state, func.count())
                .where(LINES.c.batch_id == batch_id, LINES.c.state.in_([LineState.DONE, LineState.FAILED]))
                .group_by(LINES.c.state)
            )
            by_state = {row[0]: int(row[1]) for row in rows}
        return Counts(total, by_state.get(LineState.DONE, 0), by_state.get(LineState.FAILED, 0))

    async def unfinished(self, batch_id: str, *, live_only: bool = False) -> int:
        """Lines not yet done or failed; `live_only`: running lines whose claim is still alive."""
        cond = LINES.c.state.in_([LineState.PENDING, LineState.RUNNING])
        if live_only:
            cond = and_(LINES.c.state == LineState.RUNNING, LINES.c.claim_until >= utcnow())
        async with self._engine.connect() as connection:
            return int(
                (await connection.execute(select(func.count()).where(LINES.c.batch_id == batch_id, cond))).scalar_one()
            )

    # --- lines --------------------------------------------------------------------------------------------
    async def delete_lines(self, batch_id: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(LINES.delete().where(LINES.c.batch_id == batch_id))

    async def insert_lines(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            async with self._engine.begin() as connection:
                await connection.execute(LINES.insert(), rows)

    async def claim_lines(self, batch_id: str, limit: int) -> list[ClaimedLine]:
        """Up to `limit` pending lines (or running ones whose claim ran out), in line order."""
        now = utcnow()
        pick = (
            "SELECT line_no FROM batch_lines WHERE batch_id = :batch "
            "AND (state = 'pending' OR (state = 'running' AND claim_until < :now)) "
            f"ORDER BY line_no LIMIT :limit{self._skip_locked}"
        )
        # On PostgreSQL the pick is a CTE: as an IN (...) subquery the planner may run it more than once, and
        # with SKIP LOCKED each run picks other rows, claiming more than `limit`.
        sql = text(
            f"WITH picked AS ({pick}) UPDATE batch_lines SET state = 'running', claimed_by = :worker, "
            "claim_until = :until WHERE batch_id = :batch AND line_no IN (SELECT line_no FROM picked) "
            "RETURNING line_no, custom_id, body"
        ).bindparams(
            bindparam("until", self._until(), type_=UtcDateTime()),
            bindparam("now", now, type_=UtcDateTime()),
            worker=self._worker,
            batch=batch_id,
            limit=limit,
        )
        async with self._engine.begin() as connection:
            rows = (await connection.execute(sql)).all()
        return sorted((ClaimedLine(batch_id, r[0], r[1], r[2]) for r in rows), key=lambda line: line.line_no)

    async def finish_lines(self, results: Sequence[LineResult]) -> None:
        """Stores results whose claim this worker still holds; others (taken over) are dropped."""
        if not results:
            return
        stmt = (
            update(LINES)
            .where(
                LINES.c.batch_id == bindparam("b_batch"),
                LINES.c.line_no == bindparam("b_line"),
                LINES.c.state == LineState.RUNNING,
                LINES.c.claimed_by == self._worker,
            )
            .values(state=bindparam("b_state"), result=bindparam("b_result"), claimed_by=None, claim_until=None)
        )
        rows = [
            {"b_batch": r.batch_id, "b_line": r.line_no, "b_state": r.state.value, "b_result": r.result}
            for r in results
        ]
        # One executemany (pipelined on PostgreSQL), not a round trip per line.
        async with self._engine.begin() as connection:
            await connection.execute(stmt, rows)

    async def release_lines(self, batch_id: str, line_nos: Sequence[int]) -> None:
        """Gives claimed lines back (rate-limited: they run later, not fail)."""
        if not line_nos:
            return
        async with self._engine.begin() as connection:
            await connection.execute(
                update(LINES)
                .where(
                    LINES.c.batch_id == batch_id,
                    LINES.c.line_no.in_(list(line_nos)),
                    LINES.c.state == LineState.RUNNING,
                    LINES.c.claimed_by == self._worker,
                )
                .values(state=LineState.PENDING.value, claimed_by=None, claim_until=None)
            )

    async def renew(self) -> None:
        """Extends every claim this worker holds (lines and batches); called every third of the lease."""
        until = self._until()
        async with self._engine.begin() as connection:
            await connection.execute(
                update(LINES)
                .where(LINES.c.claimed_by == self._worker, LINES.c.state == LineState.RUNNING)
                .values(claim_until=until)
            )
            await connection.execute(
                update(BATCHES).where(BATCHES.c.claimed_by == self._worker).values(claim_until=until)
            )

    async def close_unfinished(self, batch_id: str, state: LineState) -> None:
        """Marks every line not done or failed as `state`; results arriving later are dropped."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(LINES)
                .where(LINES.c.batch_id == batch_id, LINES.c.state.in_([LineState.PENDING, LineState.RUNNING]))
                .values(state=state.value, claimed_by=None, claim_until=None)
            )

    async def lines_page(self, batch_id: str, states: Sequence[LineState], after: int, size: int) -> list[Any]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(LINES.c.line_no, LINES.c.custom_id, LINES.c.state, LINES.c.result)
                .where(
                    LINES.c.batch_id == batch_id,
                    LINES.c.state.in_([s.value for s in states]),
                    LINES.c.line_no > after,
                )
                .order_by(LINES.c.line_no)
                .limit(size)
            )
            return list(rows)
