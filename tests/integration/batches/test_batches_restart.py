"""A batch survives the process running it: SIGKILL mid-batch, then a restart (or, on PostgreSQL, another
replica already running) finishes it with exactly one output line per input line. Lines in flight at the kill
may reach the upstream twice (at-least-once upstream), never the output."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.integration.batches.conftest import batch_config, chat_line, client, jsonl, output_lines, upload, wait_ended
from tests.support.databases import database_url
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway
from tests.support.waiting import wait_until

LINES = 240


def _kill(gateway: Gateway) -> None:
    assert gateway.proc is not None
    gateway.proc.kill()
    gateway.proc.wait(10)
    gateway.stop()


def _start_slow_batch(gateway: Gateway, token: str) -> str:
    sdk = client(gateway, token)
    lines = [chat_line(f"line-{i}", x_fake={"latency_ms": 150}) for i in range(LINES)]
    file = upload(sdk, jsonl(lines))
    batch = sdk.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h")
    wait_until(lambda: sdk.batches.retrieve(batch.id).request_counts.completed >= 40, within=30, what="some lines done")
    return batch.id


def _check_exactly_once(gateway: Gateway, token: str, batch_id: str) -> None:
    sdk = client(gateway, token)
    done = wait_ended(sdk, batch_id, within=60)
    assert done.status == "completed", done
    assert (done.request_counts.completed, done.request_counts.failed) == (LINES, 0)
    ids = [line["custom_id"] for line in output_lines(sdk, done.output_file_id)]
    assert ids == [f"line-{i}" for i in range(LINES)]  # every line once, in input order
    assert done.error_file_id is None


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigkill_mid_batch_then_restart(backend: str, upstream: FakeUpstream, tmp_path: Path) -> None:
    with database_url(backend, tmp_path) as db_url:
        config = batch_config(upstream.url, db_url, batch_concurrency_per_batch=16)
        first = Gateway(config, tmp_path).start()
        try:
            token = first.create_user_token("restart", f"u{uuid.uuid4().hex[:8]}@example.com")
            batch_id = _start_slow_batch(first, token)
            before = client(first, token).batches.retrieve(batch_id)
            assert before.status == "in_progress" and before.request_counts.completed < LINES
        finally:
            _kill(first)
        second = Gateway(config, tmp_path).start()
        try:
            _check_exactly_once(second, token, batch_id)
        finally:
            second.stop()


def test_other_replica_takes_over_on_postgres(upstream: FakeUpstream, tmp_path: Path) -> None:
    with database_url("postgres", tmp_path) as db_url:
        config = batch_config(upstream.url, db_url, batch_concurrency_per_batch=16)
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        # Different working directories: the files live in the database, so both replicas see them.
        a = Gateway(config, tmp_path / "a").start()
        b = Gateway(config, tmp_path / "b").start()
        try:
            token = a.create_user_token("replicas", f"u{uuid.uuid4().hex[:8]}@example.com")
            batch_id = _start_slow_batch(a, token)
            _kill(a)
            _check_exactly_once(b, token, batch_id)
        finally:
            a.stop()
            b.stop()
