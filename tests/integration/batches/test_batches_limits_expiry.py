"""Bounds and time: the line cap, the active-batch cap (403), batches that outlive their completion window
(`expired`, unfinished lines as `batch_expired`), and the sweeper deleting expired output files. A gateway with
small bounds and a short window, so these happen in test time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool

from core.db.urls import sync_url
from tests.integration.batches.conftest import (
    batch_config,
    chat_line,
    client,
    jsonl,
    new_user,
    output_lines,
    upload,
    wait_ended,
)
from tests.support.databases import database_url
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway
from tests.support.waiting import wait_until

WINDOW_SECONDS = 3.0


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def small(
    request: pytest.FixtureRequest, upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp(f"small-{request.param}")
    with database_url(request.param, workdir) as db_url:
        config = batch_config(
            upstream.url,
            db_url,
            max_batch_input_lines=3,
            max_active_batches_per_user=2,
            batch_completion_window_seconds=WINDOW_SECONDS,
            batch_output_expiry_seconds=2,
            file_sweep_interval_seconds=0.2,
            batch_concurrency_per_batch=1,
            max_batch_input_bytes=2000,
        )
        gw = Gateway(config, workdir)
        gw.db_url = db_url  # type: ignore[attr-defined]
        gw.start()
        try:
            yield gw
        finally:
            gw.stop()


def _create(sdk: openai.OpenAI, lines: list[dict]) -> str:
    file = upload(sdk, jsonl(lines))
    return sdk.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h").id


def test_too_many_lines(small: Gateway) -> None:
    sdk = client(small, new_user(small))
    done = wait_ended(sdk, _create(sdk, [chat_line(f"l{i}") for i in range(4)]))
    assert done.status == "failed" and done.errors.data[0].code == "too_many_lines"  # type: ignore[union-attr]


def test_active_batch_cap_is_403(small: Gateway) -> None:
    sdk = client(small, new_user(small))
    slow = [chat_line(f"s{i}", x_fake={"latency_ms": 1500}) for i in range(3)]
    first, second = _create(sdk, slow), _create(sdk, slow)
    with pytest.raises(openai.PermissionDeniedError) as caught:
        _create(sdk, slow)
    assert "active batches" in caught.value.message
    sdk.batches.cancel(first)
    wait_ended(sdk, first)
    _create(sdk, [chat_line("after")])  # room again
    sdk.batches.cancel(second)


def test_batch_past_its_window_expires(small: Gateway) -> None:
    sdk = client(small, new_user(small))
    # One line at a time, each taking 40 % of the window: the third cannot finish in time.
    batch_id = _create(sdk, [chat_line(f"e{i}", x_fake={"latency_ms": 1200}) for i in range(3)])
    done = wait_ended(sdk, batch_id, within=30)
    assert done.status == "expired" and done.expired_at is not None
    out = output_lines(sdk, done.output_file_id)
    errors = output_lines(sdk, done.error_file_id)
    assert 1 <= len(out) <= 2 and len(out) + len(errors) == 3
    assert {o["custom_id"] for o in out} | {e["custom_id"] for e in errors} == {"e0", "e1", "e2"}
    for error in errors:
        assert error["response"] is None and error["error"]["code"] == "batch_expired"
    assert done.request_counts.failed == len(errors)


def test_expired_output_files_are_swept(small: Gateway) -> None:
    sdk = client(small, new_user(small))
    done = wait_ended(sdk, _create(sdk, [chat_line("quick")]))
    assert done.status == "completed"
    output = done.output_file_id
    assert output is not None and sdk.files.content(output).text
    # The sweeper deletes the row and the bytes (the default storage here: a directory, or the database).
    engine = sqlalchemy.create_engine(sync_url(small.db_url), poolclass=NullPool)  # type: ignore[attr-defined]

    def count(sql: str) -> int:
        with engine.connect() as connection:
            return int(connection.execute(sqlalchemy.text(sql), {"id": output}).scalar_one())

    def bytes_stored() -> bool:
        chunks = count("SELECT count(*) FROM file_chunks WHERE storage_key = :id")
        return bool(chunks) or (small.workdir / "var" / "files" / output).exists()

    def deleted() -> bool:
        return count("SELECT count(*) FROM files WHERE id = :id") == 0 and not bytes_stored()

    try:
        assert bytes_stored()
        wait_until(deleted, within=15, what="the sweeper to delete the file's row and bytes")
    finally:
        engine.dispose()
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(output)
    assert output not in [f.id for f in sdk.files.list().data]


def test_batch_input_size_limit(small: Gateway) -> None:
    sdk = client(small, new_user(small))
    with pytest.raises(openai.BadRequestError) as caught:
        upload(sdk, b"x" * 2001, purpose="batch")
    assert caught.value.body["param"] == "file"  # type: ignore[index]
    assert "2000 bytes" in caught.value.message
    assert upload(sdk, b"x" * 2001, purpose="user_data").bytes == 2001  # other purposes: max_file_bytes
    assert sdk.files.list(purpose="batch").data == []
