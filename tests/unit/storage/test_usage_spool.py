"""The usage spool: journal lines, torn writes, rotation, orphan claiming, and a recorder replaying what a
crashed run left — each event exactly once, requests cut off in flight as interrupted."""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.engine import create_engine
from core.db.migrate import upgrade
from core.db.tables import UsageRecordRow, UsageSpoolCheckpointRow
from core.settings import Settings
from core.usage.recorder import UsageRecorder
from core.usage.spool import INTERRUPTED_STATUS, UsageSpool, claim_orphans, spool_directory
from tests.support.usage_events import event as usage


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite:///{tmp_path / 'usage.db'}"
    upgrade(url)
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


def opened(directory: Path, **kwargs: int) -> UsageSpool:
    spool = UsageSpool(directory, **kwargs)
    spool.open()
    return spool


def crash(spool: UsageSpool) -> None:
    """What a SIGKILL leaves: the files as written, their locks released with the process."""
    spool.close(all_committed=False)


async def stored(engine: AsyncEngine) -> list[tuple[str, int]]:
    async with engine.connect() as conn:
        query = select(UsageRecordRow.request_id, UsageRecordRow.status).order_by(UsageRecordRow.request_id)
        return [(r, s) for r, s in (await conn.execute(query)).all()]


def test_journal_lines_round_trip_and_unfinished_requests_are_interrupted(tmp_path: Path) -> None:
    spool = opened(tmp_path)
    done = spool.begin(usage(1, status=0))
    cut = spool.begin(usage(2, status=0, input_tokens=42))
    assert spool.finish(usage(1, output_tokens=7), done) == 1
    assert spool.finish(usage(3), None) == 2
    crash(spool)
    (run,) = claim_orphans(tmp_path)
    finished, interrupted = run.events()
    run.release()
    assert [(seq, e.request_id, e.output_tokens) for seq, e in finished] == [(1, "req-1", 7), (2, "req-3", 5)]
    assert [(e.request_id, e.status, e.input_tokens, e.tokens_estimated) for e in interrupted] == [
        ("req-2", INTERRUPTED_STATUS, 42, True)
    ]
    assert finished[0][1].created_at == usage(1).created_at
    assert cut == 2


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    spool = opened(tmp_path)
    spool.finish(usage(1), None)
    crash(spool)
    (segment,) = tmp_path.glob("run-*.jsonl")
    with segment.open("ab") as file:
        file.write(b'{"s": 2, "b": null, "e": {"request_id": "req-')  # the process died inside write()
    (run,) = claim_orphans(tmp_path)
    finished, interrupted = run.events()
    run.release()
    assert [e.request_id for _, e in finished] == ["req-1"] and interrupted == []


def test_rotation_carries_requests_in_flight_and_commits_delete_old_segments(tmp_path: Path) -> None:
    spool = opened(tmp_path, segment_bytes=1)  # every finished event rotates
    long_running = spool.begin(usage(9, status=0))
    spool.finish(usage(1), None)
    spool.finish(usage(2), None)
    assert len(list(tmp_path.glob("run-*.jsonl"))) == 3
    spool.committed(1)
    assert len(list(tmp_path.glob("run-*.jsonl"))) == 2
    spool.committed(2)
    (current,) = tmp_path.glob("run-*.jsonl")
    assert b'"request_id":"req-9"' in current.read_bytes()  # carried, so a crash now still bills it
    spool.finish(usage(9), long_running)
    crash(spool)
    (run,) = claim_orphans(tmp_path)
    finished, interrupted = run.events()
    run.release()
    assert [e.request_id for _, e in finished] == ["req-9"] and interrupted == []


def test_a_live_run_is_not_claimed_and_files_are_private(tmp_path: Path) -> None:
    directory = spool_directory(tmp_path, "sqlite:///x.db")
    live = opened(directory)
    live.finish(usage(1), None)
    assert list(claim_orphans(directory)) == []
    (segment,) = directory.glob("run-*.jsonl")
    assert stat.S_IMODE(segment.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert spool_directory(tmp_path, "sqlite:///other.db") != directory
    live.close(all_committed=True)
    assert list(directory.iterdir()) == []


def test_a_run_being_replayed_elsewhere_is_skipped(tmp_path: Path) -> None:
    spool = opened(tmp_path)
    spool.finish(usage(1), None)
    crash(spool)
    (segment,) = tmp_path.glob("run-*.jsonl")
    fd = os.open(segment, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another starting replica got there first
        assert list(claim_orphans(tmp_path)) == []
    finally:
        os.close(fd)
    assert len(list(claim_orphans(tmp_path))) == 1


async def test_replay_after_a_crash_stores_each_event_once(engine: AsyncEngine, tmp_path: Path) -> None:
    settings = Settings(usage_batch_size=2, usage_flush_interval_seconds=3600)
    first = UsageRecorder(engine, settings, spool=opened(tmp_path / "spool"))
    for i in range(1, 4):
        first.record(usage(i), first.begin(usage(i, status=0)))
    assert await first.flush()  # req-1..3 committed, checkpoint 3
    first.record(usage(4))
    first.record(usage(5))
    first.begin(usage(6, status=0))  # upstream call under way when the process dies
    assert first._spool is not None
    crash(first._spool)  # never closed: req-4 and req-5 were only queued in memory

    second = UsageRecorder(engine, settings, spool=opened(tmp_path / "spool"))
    assert await second.recover() == 3
    assert await stored(engine) == [
        ("req-1", 200),
        ("req-2", 200),
        ("req-3", 200),
        ("req-4", 200),
        ("req-5", 200),
        ("req-6", INTERRUPTED_STATUS),
    ]
    async with engine.connect() as conn:
        checkpoints = (await conn.execute(select(func.count()).select_from(UsageSpoolCheckpointRow))).scalar_one()
    assert checkpoints == 0
    assert await second.recover() == 0  # the orphan is gone: a second start adds nothing
    await second.close()
    assert list((tmp_path / "spool").iterdir()) == []


async def test_a_run_whose_database_write_fails_is_kept_for_the_next_start(engine: AsyncEngine, tmp_path: Path) -> None:
    first = UsageRecorder(engine, Settings(), spool=opened(tmp_path / "spool"))
    first.record(usage(1))
    assert first._spool is not None
    crash(first._spool)
    broken = create_engine(f"sqlite:///{tmp_path / 'missing' / 'no-tables.db'}")
    try:
        assert await UsageRecorder(broken, Settings(), spool=opened(tmp_path / "spool")).recover() == 0
    finally:
        await broken.dispose()
    assert await UsageRecorder(engine, Settings(), spool=opened(tmp_path / "spool")).recover() == 1
    assert await stored(engine) == [("req-1", 200)]


async def test_clean_close_leaves_no_journal(engine: AsyncEngine, tmp_path: Path) -> None:
    recorder = UsageRecorder(engine, Settings(), spool=opened(tmp_path / "spool"))
    recorder.record(usage(1), recorder.begin(usage(1, status=0)))
    await recorder.close()
    assert list((tmp_path / "spool").iterdir()) == []
    assert await stored(engine) == [("req-1", 200)]
