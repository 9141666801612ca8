"""The usage writer: non-blocking record, batching (one executemany per batch), early flush at batch size,
flush on close, retry after a failed write, bounded memory, and row conversion."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from core.db.engine import create_engine
from core.db.migrate import upgrade
from core.db.tables import UsageRecordRow
from core.settings import Settings
from core.usage.recorder import MAX_ERROR_MESSAGE_CHARS, UsageRecorder, escaped_row, event_row
from tests.support.usage_events import event as usage_event
from tests.support.waiting import async_wait_until

COUNT = select(func.count()).select_from(UsageRecordRow)


def count_inserts(engine: AsyncEngine) -> list[int]:
    """Rows of each usage INSERT sent to the driver: an executemany's parameter sets (PostgreSQL), or the rows
    of a multi-row INSERT (SQLite: 64, 32, ..., 1 rows per statement)."""
    sizes: list[int] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO usage_records"):
            sizes.append(len(parameters) if executemany else statement.count("),(") + 1)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return sizes


async def rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(COUNT)).scalar_one())


async def _rows_are(engine: AsyncEngine, expected: int) -> bool:
    return await rows(engine) == expected


async def test_batches_are_one_executemany_each_and_close_flushes(engine: AsyncEngine, database_url: str) -> None:
    inserts = count_inserts(engine)
    # A long interval: nothing is written before close() except full batches.
    recorder = UsageRecorder(engine, Settings(usage_flush_interval_seconds=60, usage_batch_size=4))
    await recorder.start()
    for i in range(10):
        recorder.record(usage_event(i))
    assert recorder.pending == 10  # record() only queued
    await recorder.close()
    assert await rows(engine) == 10
    assert sorted(inserts) == [2, 4, 4]
    assert recorder.written == 10 and recorder.pending == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL takes one executemany per batch
async def test_sqlite_batches_go_out_as_a_few_multi_row_inserts(engine: AsyncEngine) -> None:
    inserts = count_inserts(engine)
    recorder = UsageRecorder(engine, Settings(usage_flush_interval_seconds=60, usage_batch_size=500))
    for i in range(203):
        recorder.record(usage_event(i, created_at=datetime(2030, 1, 1, 0, 0, i % 60, 250_000, tzinfo=UTC)))
    assert await recorder.flush()
    assert inserts == [64, 64, 64, 8, 2, 1] and await rows(engine) == 203
    async with engine.connect() as conn:  # stored as the ORM stores them: read back aware, microseconds kept
        first = (await conn.execute(select(UsageRecordRow).where(col(UsageRecordRow.request_id) == "req-1"))).one()
    assert first.created_at == datetime(2030, 1, 1, 0, 0, 1, 250_000, tzinfo=UTC) and first.tokens_estimated is False


async def test_records_arriving_during_a_flush_wait_for_the_next_one(engine: AsyncEngine) -> None:
    """Under steady traffic a flush must not chase the queue (a tiny batch after every write): it writes what
    was queued when it started."""
    inserts = count_inserts(engine)
    recorder = UsageRecorder(engine, Settings(usage_flush_interval_seconds=60, usage_batch_size=100))
    for i in range(10):
        recorder.record(usage_event(i))
    flushing = asyncio.create_task(recorder.flush())
    await asyncio.sleep(0)  # the flush has taken its batch and is writing it
    for i in range(10, 13):
        recorder.record(usage_event(i))
    assert await flushing is True
    assert sum(inserts) == 10 and recorder.pending == 3
    await recorder.close()
    assert sum(inserts) == 13 and await rows(engine) == 13


async def test_a_full_batch_is_written_before_the_interval(engine: AsyncEngine) -> None:
    recorder = UsageRecorder(engine, Settings(usage_flush_interval_seconds=60, usage_batch_size=5))
    await recorder.start()
    try:
        for i in range(5):
            recorder.record(usage_event(i))
        await async_wait_until(lambda: _rows_are(engine, 5), what="the full batch in the table")
    finally:
        await recorder.close()


async def test_interval_flush(engine: AsyncEngine) -> None:
    recorder = UsageRecorder(engine, Settings(usage_flush_interval_seconds=0.02, usage_batch_size=500))
    await recorder.start()
    try:
        recorder.record(usage_event())
        await async_wait_until(lambda: _rows_are(engine, 1), what="the interval flush")
    finally:
        await recorder.close()


async def test_failed_writes_are_kept_and_retried(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path}/late.db"
    engine = create_engine(url)  # no schema yet: every write fails
    try:
        recorder = UsageRecorder(engine, Settings(usage_flush_interval_seconds=60, usage_batch_size=10))
        for i in range(3):
            recorder.record(usage_event(i))
        assert await recorder.flush() is False
        assert recorder.pending == 3
        assert "usage write of 3 records failed" in caplog.text
        await asyncio.to_thread(upgrade, url)  # the database comes back
        assert await recorder.flush() is True
        await recorder.close()
        assert await rows(engine) == 3
    finally:
        await engine.dispose()


async def test_memory_is_bounded_and_drops_are_counted(engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    recorder = UsageRecorder(engine, Settings(usage_batch_size=100), max_pending=3)
    for i in range(5):
        recorder.record(usage_event(i))
    assert (recorder.pending, recorder.dropped) == (3, 2)
    assert "usage queue full" in caplog.text
    await recorder.close()
    async with engine.connect() as conn:
        query = select(col(UsageRecordRow.request_id)).order_by(col(UsageRecordRow.request_id))
        kept = (await conn.execute(query)).scalars().all()
    assert kept == ["req-2", "req-3", "req-4"]  # the oldest went first


async def test_rows_round_trip_and_long_strings_are_cut(engine: AsyncEngine) -> None:
    recorder = UsageRecorder(engine, Settings())
    recorder.record(usage_event(1, end_user_id="e" * 1000, user_agent="a" * 2000, error_message="x" * 5000))
    recorder.record(
        usage_event(2, created_at=datetime(2030, 1, 1), ttft_ms=None, tokens_estimated=True)
    )  # naive -> UTC
    await recorder.close()
    async with engine.connect() as conn:
        stored = (await conn.execute(select(UsageRecordRow).order_by(UsageRecordRow.request_id))).all()
    first, second = stored
    assert (
        len(first.end_user_id) == 255
        and len(first.user_agent) == 512
        and len(first.error_message) == MAX_ERROR_MESSAGE_CHARS
    )
    assert second.created_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert (second.ttft_ms, second.tokens_estimated, second.status, second.endpoint_path) == (
        None,
        True,
        200,
        "/v1/chat/completions",
    )


def test_event_row_has_every_column() -> None:
    row = event_row(usage_event())
    columns = {c.name for c in UsageRecordRow.metadata.tables["usage_records"].columns} - {"id"}
    assert set(row) == columns


async def test_nul_and_control_characters_never_cost_a_row(engine: AsyncEngine) -> None:
    """PostgreSQL refuses NUL in text: the record is stored without it rather than dropped (security review
    #1: requests with `user_id: "evade\\u0000"` were served and never counted)."""
    recorder = UsageRecorder(engine, Settings())
    recorder.record(usage_event(1, end_user_id="evade\x00", user_agent="ua\x00\x1b[2J", error_message="\x00boom"))
    await recorder.close()
    assert (recorder.dropped, recorder.written) == (0, 1)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(UsageRecordRow))).one()
    assert (stored.end_user_id, stored.user_agent, stored.error_message) == ("evade", "ua\x1b[2J", "boom")


def test_a_refused_row_is_kept_as_printable_ascii_within_its_columns() -> None:
    row = event_row(usage_event(1, end_user_id="é\x1b" * 200, model="m\x07", error_message="\u2028" * 5000))
    cleaned = escaped_row(row)
    assert cleaned["model"] == "m\\x07"
    assert cleaned["end_user_id"].startswith("\\xe9\\x1b") and len(cleaned["end_user_id"]) == 255
    assert len(cleaned["error_message"]) == MAX_ERROR_MESSAGE_CHARS
    assert all(value.isascii() and value.isprintable() for value in cleaned.values() if isinstance(value, str))
    assert (cleaned["input_tokens"], cleaned["status"]) == (row["input_tokens"], row["status"])
