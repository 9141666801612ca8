"""The S3 storage backend against a real S3-compatible server (moto's, started on loopback by the test):
uploads and batch output go to the bucket under the configured prefix, downloads stream back, deletion removes
the object. Credentials come from `os.environ/NAME` references in the config."""

from __future__ import annotations

from pathlib import Path

from tests.integration.batches.conftest import (
    BUCKET,
    KEYS,
    _bucket,
    batch_config,
    chat_line,
    client,
    jsonl,
    output_lines,
    upload,
    wait_ended,
)
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway


def _keys(bucket: object) -> set[str]:
    return {o.key for o in bucket.objects.all()}  # type: ignore[attr-defined]


def test_s3_backend(s3_endpoint: str, upstream: FakeUpstream, tmp_path: Path) -> None:
    bucket = _bucket(s3_endpoint)
    config = batch_config(
        upstream.url,
        f"sqlite:///{tmp_path / 'a.db'}",
        files_storage=f"s3://{BUCKET}/gateway-files",
        files_s3_endpoint=s3_endpoint,
        files_s3_access_key_id="os.environ/S3_TEST_KEY_ID",
        files_s3_secret_access_key="os.environ/S3_TEST_SECRET",
    )
    gw = Gateway(config, tmp_path, env=KEYS).start()
    try:
        sdk = client(gw, gw.create_user_token("s3", "s3@example.com"))
        data = bytes(range(256)) * 40_000  # ~10 MB: a multipart upload to S3
        made = upload(sdk, data, purpose="user_data")
        assert f"gateway-files/{made.id}" in _keys(bucket)
        assert sdk.files.content(made.id).content == data
        sdk.files.delete(made.id)
        assert f"gateway-files/{made.id}" not in _keys(bucket)

        batch_input = upload(sdk, jsonl([chat_line("a"), chat_line("b")]))
        batch = sdk.batches.create(
            input_file_id=batch_input.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        done = wait_ended(sdk, batch.id)
        assert done.status == "completed"
        assert f"gateway-files/{done.output_file_id}" in _keys(bucket)
        assert [line["custom_id"] for line in output_lines(sdk, done.output_file_id)] == ["a", "b"]
    finally:
        gw.stop()
