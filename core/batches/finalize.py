"""Ends a batch: writes its output file (responses) and error file (failed and expired lines) in line order,
streamed from the line rows page by page, then records the files and the final status in one transaction.

Finalization is claimed like a line; if the process dies mid-way, another takes it over after the lease and
writes the same file ids again (storage writes replace), so the files appear once, whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import update

from core.batches.execution import unrun_line
from core.batches.model import LineState, Status
from core.batches.store import BATCHES, BatchStore
from core.db.tables import FileRow
from core.db.types import utcnow
from core.files.files import Files, Owner
from core.files.model import OUTPUT_PURPOSE

_FILES = FileRow.__table__  # type: ignore[attr-defined]
_PAGE = 1000
_EXPIRED_MESSAGE = "This request could not be executed before the completion window expired."

# The final status -> the timestamp column it sets.
_ENDED_AT = {Status.COMPLETED: "completed_at", Status.EXPIRED: "expired_at", Status.CANCELLED: "cancelled_at"}


async def _lines(store: BatchStore, batch_id: str, states: tuple[LineState, ...]) -> AsyncIterator[bytes]:
    after = 0
    while True:
        rows = await store.lines_page(batch_id, states, after, _PAGE)
        if not rows:
            return
        out = bytearray()
        for row in rows:
            if row.state == LineState.EXPIRED:
                line: Any = unrun_line(row.custom_id, "batch_expired", _EXPIRED_MESSAGE)
                out += orjson.dumps(line)
            else:
                out += row.result.encode()
            out += b"\n"
        yield bytes(out)
        after = rows[-1].line_no


async def _count(store: BatchStore, batch_id: str, states: tuple[LineState, ...]) -> int:
    rows = await store.lines_page(batch_id, states, 0, 1)
    return len(rows)


async def finalize(store: BatchStore, files: Files, batch: Any, final: Status) -> None:
    """Writes the files of a batch whose finalization this worker claimed, and ends it with `final`."""
    owner = Owner(batch.org_id, batch.user_id, batch.team_id)
    rows: list[dict[str, object]] = []
    output_states = (LineState.DONE,)
    error_states = (LineState.FAILED, LineState.EXPIRED)
    changes: dict[str, Any] = {}
    for file_id, states, suffix, column in (
        (batch.output_file_id, output_states, "output", "output_file_id"),
        (batch.error_file_id, error_states, "errors", "error_file_id"),
    ):
        if not await _count(store, batch.id, states):
            changes[column] = None
            continue
        size = await files.storage.write(file_id, _lines(store, batch.id, states))
        rows.append(files.output_row(owner, file_id, f"{batch.id}_{suffix}.jsonl", size, OUTPUT_PURPOSE))
    counts = await store.counts(batch.id, batch.total)
    now = utcnow()
    async with store.engine.begin() as connection:
        if rows:
            await connection.execute(_FILES.insert(), rows)
        await connection.execute(
            update(BATCHES)
            .where(BATCHES.c.id == batch.id)
            .values(
                status=final.value,
                completed=counts.completed,
                failed=counts.failed
                + (batch.total - counts.completed - counts.failed if final is Status.EXPIRED else 0),
                claimed_by=None,
                claim_until=None,
                **{_ENDED_AT[final]: now},
                **changes,
            )
        )
