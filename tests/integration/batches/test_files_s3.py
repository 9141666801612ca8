"""The S3 storage backend against a real S3-compatible server (moto's, started on loopback by the test):
uploads and batch output go to the bucket under the configured prefix, downloads stream back, deletion removes
the object. Credentials come from `os.environ/NAME` references in the config."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx2
import pytest

from tests.integration.batches.conftest import batch_config, chat_line, client, jsonl, output_lines, upload, wait_ended
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway
from tests.support.waiting import wait_until

BUCKET = "aqueduct-files"
KEYS = {"S3_TEST_KEY_ID": "testing-key-id", "S3_TEST_SECRET": "testing-secret"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    moto = str(Path(sys.executable).with_name("moto_server"))
    proc = subprocess.Popen(
        [moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx2.get(endpoint, timeout=1).status_code < 500
        except httpx2.HTTPError:
            return False

    try:
        wait_until(up, within=30, what="the S3 server")
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)


def _bucket(endpoint: str) -> object:
    s3 = boto3.resource(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEYS["S3_TEST_KEY_ID"],
        aws_secret_access_key=KEYS["S3_TEST_SECRET"],
        region_name="us-east-1",
    )
    bucket = s3.Bucket(BUCKET)
    if not bucket.creation_date:
        bucket.create()
    return bucket


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
