"""The pure pieces of files and batches: line splitting and checks, the batch and file JSON codec, the CLI's
progress line, and the rate-limit share applied to a check."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aqueduct.v1 import batch_pb2, file_pb2
from aqueduct_client.cli.batches import progress_line

from aqueduct_openai import CodecError, batch_create_from_json, batch_to_json, file_to_json, list_json
from core.batches.validation import LineTooLong, Validation, _check_line, split_lines
from core.governance.limits.admission import _scaled
from core.governance.limits.model import NONE, Check, Level


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def _lines(*parts: bytes, limit: int = 100) -> list[bytes]:
    return [line async for line in split_lines(_chunks(*parts), limit)]


async def test_split_lines_across_chunks_and_without_final_newline() -> None:
    assert await _lines(b'{"a"', b":1}\n{", b'"b":2}') == [b'{"a":1}', b'{"b":2}']
    assert await _lines(b"x\n\ny\n") == [b"x", b"", b"y"]
    with pytest.raises(LineTooLong):
        await _lines(b"z" * 101)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"[1]", "invalid_json_line"),
        (b'{"url": "/v1/embeddings", "body": {"model": "m"}}', "missing_required_parameter"),
        (b'{"custom_id": "' + b"c" * 513 + b'", "url": "/v1/embeddings", "body": {"model": "m"}}', "invalid_custom_id"),
        (b'{"custom_id": "a", "url": "/v1/embeddings", "body": [1]}', "invalid_body"),
    ],
)
def test_line_checks(raw: bytes, code: str) -> None:
    result = Validation()
    assert _check_line(raw, 3, "/v1/embeddings", set(), result) is None
    assert [(e.code, e.line) for e in result.errors] == [(code, 3)]


def test_a_good_line_is_normalised() -> None:
    result = Validation()
    checked = _check_line(
        b'{"custom_id": "a", "url": "/v1/embeddings", "body": {"model": "m"}}', 1, "/v1/embeddings", set(), result
    )
    assert checked == {"custom_id": "a", "body": '{"model":"m"}'} and not result.errors


def test_batch_json() -> None:
    batch = batch_pb2.Batch(
        name="batches/batch_1",
        endpoint="/v1/embeddings",
        input_file="files/file-1",
        completion_window="24h",
        status=batch_pb2.BATCH_STATUS_FAILED,
        errors=[batch_pb2.BatchError(code="empty_file", message="empty")],
    )
    batch.create_time.seconds = 10
    out = batch_to_json(batch)
    assert out["id"] == "batch_1" and out["status"] == "failed" and out["created_at"] == 10
    assert out["completed_at"] is None and out["output_file_id"] is None and out["metadata"] is None
    assert out["errors"]["data"] == [{"code": "empty_file", "message": "empty", "param": None, "line": None}]
    file = file_to_json(file_pb2.File(name="files/file-9", filename="a", purpose="batch", bytes=3))
    assert file["id"] == "file-9" and file["expires_at"] is None and file["object"] == "file"
    assert list_json([], False) == {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([], None),
        ({"endpoint": "/v1/embeddings", "completion_window": "24h"}, "input_file_id"),
        (
            {"input_file_id": "f", "endpoint": "/v1/embeddings", "completion_window": "24h", "metadata": {"a": 1}},
            "metadata",
        ),
    ],
)
def test_batch_create_body_errors(body: object, param: str | None) -> None:
    with pytest.raises(CodecError) as caught:
        batch_create_from_json(body)
    assert caught.value.field == param


def test_progress_line() -> None:
    batch = batch_pb2.Batch(status=batch_pb2.BATCH_STATUS_IN_PROGRESS)
    batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed = 100, 40, 10
    line = progress_line(batch, 25.0)
    assert line.startswith("[" + "#" * 15 + "-" * 15 + "]")
    assert "40 done, 10 failed / 100" in line and "25.0 lines/s" in line and "ETA 2s" in line
    assert line.endswith("in_progress")
    assert "lines/s" not in progress_line(batch, None)


def test_rate_limit_share_scales_limits_not_unlimited_ones() -> None:
    check = Check("k", Level.MEMBER, "user a", (10_000_000, 1000, NONE, NONE), (1_000_000, 10, 0, 0))
    scaled = _scaled(check, 0.8)
    assert scaled.limits == (8_000_000, 800, NONE, NONE) and scaled.costs == check.costs
    assert _scaled(Check("k", Level.MEMBER, "u", (1, 1, 1, 1), (0, 0, 0, 0)), 0.1).limits == (1, 1, 1, 1)
