from __future__ import annotations

from tests.integration.batches.conftest import chat_line, client, jsonl, output_lines, upload, wait_ended
from tests.support.gateway import Gateway


def test_chat_batch_lifecycle(gateway: Gateway, user_token: str) -> None:
    sdk = client(gateway, user_token)
    lines = [chat_line(f"req-{i}") for i in range(5)] + [chat_line("bad-model", "no-such-model")]
    file = upload(sdk, jsonl(lines))
    assert file.purpose == "batch" and file.bytes > 0
    batch = sdk.batches.create(input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.status in ("validating", "in_progress")
    done = wait_ended(sdk, batch.id)
    assert done.status == "completed", done
    assert done.request_counts.total == 6
    assert done.request_counts.completed == 5 and done.request_counts.failed == 1
    out = output_lines(sdk, done.output_file_id)
    assert sorted(o["custom_id"] for o in out) == [f"req-{i}" for i in range(5)]
    assert all(o["response"]["status_code"] == 200 for o in out)
    errors = output_lines(sdk, done.error_file_id)
    assert [e["custom_id"] for e in errors] == ["bad-model"]
    assert errors[0]["response"]["status_code"] == 404
