"""/v1/batches through the official SDK: the lifecycle for chat, completions and embeddings, the output format,
invalid inputs, ownership (404 for everyone else), the active-batch cap, listing and cancel."""

from __future__ import annotations

import json
import uuid

import openai
import pytest

from tests.integration.batches.conftest import (
    chat_line,
    client,
    jsonl,
    new_user,
    output_lines,
    upload,
    wait_ended,
)
from tests.support.gateway import Gateway
from tests.support.waiting import wait_until


def test_chat_batch_with_failed_lines(gateway: Gateway, user_token: str) -> None:
    sdk = client(gateway, user_token)
    lines = [chat_line(f"req-{i}") for i in range(5)]
    lines.append(chat_line("bad-model", "no-such-model"))
    lines.append(chat_line("upstream-400", x_fake={"status": 400, "error_message": "bad things"}))
    file = upload(sdk, jsonl(lines))
    batch = sdk.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h", metadata={"run": "nightly"}
    )
    assert batch.status in ("validating", "in_progress") and batch.metadata == {"run": "nightly"}
    assert batch.input_file_id == file.id and batch.output_file_id is None
    done = wait_ended(sdk, batch.id)
    assert done.status == "completed", done
    assert done.created_at <= done.in_progress_at <= done.finalizing_at <= done.completed_at  # type: ignore[operator]
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (7, 5, 2)
    out = output_lines(sdk, done.output_file_id)
    assert [o["custom_id"] for o in out] == [f"req-{i}" for i in range(5)]  # one line each, in input order
    for line in out:
        assert set(line) == {"id", "custom_id", "response", "error"} and line["error"] is None
        response = line["response"]
        assert response["status_code"] == 200 and response["request_id"] == line["id"]
        assert response["body"]["object"] == "chat.completion" and response["body"]["choices"]
    errors = {e["custom_id"]: e for e in output_lines(sdk, done.error_file_id)}
    assert set(errors) == {"bad-model", "upstream-400"}
    assert errors["bad-model"]["response"]["status_code"] == 404
    assert errors["bad-model"]["response"]["body"]["error"]["code"] == "model_not_found"
    assert errors["upstream-400"]["response"]["status_code"] == 400
    assert "bad things" in errors["upstream-400"]["response"]["body"]["error"]["message"]
    output_file = sdk.files.retrieve(done.output_file_id)  # type: ignore[arg-type]
    assert output_file.purpose == "batch_output" and output_file.expires_at is not None
    assert done.id in [b.id for b in sdk.batches.list().data]


def test_completions_and_embeddings_batches(gateway: Gateway, user_token: str) -> None:
    sdk = client(gateway, user_token)
    completions = [
        {
            "custom_id": f"c{i}",
            "method": "POST",
            "url": "/v1/completions",
            "body": {"model": "text-model", "prompt": "hi"},
        }
        for i in range(3)
    ]
    embeddings = [
        {
            "custom_id": f"e{i}",
            "method": "POST",
            "url": "/v1/embeddings",
            "body": {"model": "embed-model", "input": "x"},
        }
        for i in range(3)
    ]
    created = [
        sdk.batches.create(input_file_id=upload(sdk, jsonl(lines)).id, endpoint=endpoint, completion_window="24h")
        for lines, endpoint in ((completions, "/v1/completions"), (embeddings, "/v1/embeddings"))
    ]
    text_batch, embed_batch = (wait_ended(sdk, b.id) for b in created)
    assert text_batch.status == embed_batch.status == "completed"
    texts = output_lines(sdk, text_batch.output_file_id)
    assert [t["response"]["body"]["object"] for t in texts] == ["text_completion"] * 3
    vectors = output_lines(sdk, embed_batch.output_file_id)
    assert [v["response"]["body"]["data"][0]["object"] for v in vectors] == ["embedding"] * 3
    assert text_batch.error_file_id is None


@pytest.mark.parametrize(
    ("content", "code", "line"),
    [
        (
            b'{"custom_id": "a", "url": "/v1/chat/completions", "body": {"model": "m"}}\nnot json\n',
            "invalid_json_line",
            2,
        ),
        (jsonl([chat_line("same"), chat_line("same")]), "duplicate_custom_id", 2),
        (jsonl([{**chat_line("a"), "url": "/v1/embeddings"}]), "invalid_url", 1),
        (jsonl([{**chat_line("a"), "method": "GET"}]), "invalid_method", 1),
        (
            jsonl([{"custom_id": "a", "url": "/v1/chat/completions", "body": {"messages": []}}]),
            "missing_required_parameter",
            1,
        ),
        (b"\n\n", "empty_file", None),
    ],
)
def test_invalid_input_fails_validation(
    gateway: Gateway, user_token: str, content: bytes, code: str, line: int | None
) -> None:
    sdk = client(gateway, user_token)
    batch = sdk.batches.create(
        input_file_id=upload(sdk, content).id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    done = wait_ended(sdk, batch.id)
    assert done.status == "failed" and done.failed_at is not None
    assert done.errors is not None and done.errors.data
    first = done.errors.data[0]
    assert first.code == code and first.line == line
    assert done.output_file_id is None and done.error_file_id is None


@pytest.mark.parametrize(
    ("kwargs", "error", "param"),
    [
        ({"endpoint": "/v1/images/generations"}, openai.BadRequestError, "endpoint"),
        ({"completion_window": "48h"}, openai.BadRequestError, "completion_window"),
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, openai.BadRequestError, "metadata"),
        ({"input_file_id": "file-doesnotexist"}, openai.NotFoundError, "input_file_id"),
    ],
)
def test_bad_create_requests(gateway: Gateway, user_token: str, kwargs: dict, error: type, param: str) -> None:
    sdk = client(gateway, user_token)
    args = {
        "input_file_id": upload(sdk, jsonl([chat_line("a")])).id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
        **kwargs,
    }
    with pytest.raises(error) as caught:
        sdk.batches.create(**args)
    assert caught.value.body["param"] == param  # type: ignore[attr-defined]


def test_input_file_must_have_purpose_batch(gateway: Gateway, user_token: str) -> None:
    sdk = client(gateway, user_token)
    file = upload(sdk, jsonl([chat_line("a")]), purpose="user_data")
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert "purpose" in caught.value.message


def test_other_tenant_gets_404_for_batches_and_outputs(gateway: Gateway, user_token: str) -> None:
    owner = client(gateway, user_token)
    batch = owner.batches.create(
        input_file_id=upload(owner, jsonl([chat_line("a")])).id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )
    done = wait_ended(owner, batch.id)
    for org in ("files", f"other{uuid.uuid4().hex[:6]}"):
        stranger = client(gateway, new_user(gateway, org))
        with pytest.raises(openai.NotFoundError):
            stranger.batches.retrieve(batch.id)
        with pytest.raises(openai.NotFoundError):
            stranger.batches.cancel(batch.id)
        with pytest.raises(openai.NotFoundError):
            stranger.files.content(done.output_file_id)  # type: ignore[arg-type]
        assert batch.id not in [b.id for b in stranger.batches.list().data]


def test_cancel_mid_run_keeps_finished_lines(gateway: Gateway, user_token: str) -> None:
    sdk = client(gateway, user_token)
    lines = [chat_line(f"slow-{i}", x_fake={"latency_ms": 300}) for i in range(200)]
    batch = sdk.batches.create(
        input_file_id=upload(sdk, jsonl(lines)).id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    wait_until(lambda: sdk.batches.retrieve(batch.id).request_counts.completed > 0, within=30, what="first lines")
    cancelling = sdk.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    done = wait_ended(sdk, batch.id, within=20)
    assert done.status == "cancelled" and done.cancelled_at is not None
    out = output_lines(sdk, done.output_file_id)
    assert 0 < len(out) == done.request_counts.completed < 200
    assert len({o["custom_id"] for o in out}) == len(out)
    assert sdk.batches.cancel(batch.id).status == "cancelled"  # cancelling an ended batch changes nothing


def test_list_batches_pages(gateway: Gateway) -> None:
    sdk = client(gateway, new_user(gateway))
    file = upload(sdk, jsonl([chat_line("a")]))
    made = [
        sdk.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h").id
        for _ in range(3)
    ]
    first = sdk.batches.list(limit=2)
    assert [b.id for b in first.data] == made[::-1][:2] and first.has_more
    assert [b.id for b in sdk.batches.list(limit=2, after=first.data[-1].id).data] == [made[0]]
    assert [b.id for b in sdk.batches.list().data] == made[::-1]
    assert json.loads(first.model_dump_json())["object"] == "list"
