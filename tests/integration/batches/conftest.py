"""Fixtures for files and batches: a real `aqueduct serve` (SQLite and PostgreSQL) against the fake upstream,
short leases and polls so restarts and takeovers happen in test time, and helpers to upload JSONL and wait."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx2
import openai
import pytest

from tests.support.databases import database_url
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway
from tests.support.waiting import wait_until

UPSTREAM_KEY = "sk-upstream-secret-key-0123456789"
ENDED = ("completed", "failed", "expired", "cancelled")

_clients: list[openai.OpenAI] = []


def client(gateway: Gateway, token: str, *, v1: bool = True) -> openai.OpenAI:
    made = openai.OpenAI(base_url=gateway.v1 if v1 else gateway.base_url, api_key=token, max_retries=0)
    _clients.append(made)
    return made


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def model(upstream_url: str, name: str, mode: str, **params: Any) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"openai/{name}-upstream",
            "api_base": upstream_url + "/v1",
            "api_key": UPSTREAM_KEY,
            **params,
        },
        "model_info": {"mode": mode},
    }


def batch_config(upstream_url: str, db_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "database_url": db_url,
        "usage_flush_interval_seconds": 0.1,
        "batch_lease_seconds": 2.0,
        "batch_poll_interval_seconds": 0.1,
        "model_list": [
            model(upstream_url, "chat-model", "chat"),
            model(upstream_url, "text-model", "completion"),
            model(upstream_url, "embed-model", "embedding"),
        ],
        **overrides,
    }


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def gateway(
    request: pytest.FixtureRequest, upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp(f"batches-{request.param}")
    with database_url(request.param, workdir) as db_url:
        gw = Gateway(batch_config(upstream.url, db_url, max_file_bytes=4 * 1024 * 1024), workdir)
        gw.start()
        try:
            yield gw
        finally:
            gw.stop()


def new_user(gateway: Gateway, org: str = "files") -> str:
    return gateway.create_user_token(org, f"u{uuid.uuid4().hex[:10]}@example.com")


@pytest.fixture
def user_token(gateway: Gateway) -> str:
    return new_user(gateway)


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def chat_line(custom_id: str, model_name: str = "chat-model", **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model_name, "messages": [{"role": "user", "content": f"hello {custom_id}"}], **body},
    }


def upload(sdk: openai.OpenAI, data: bytes, purpose: str = "batch", name: str = "input.jsonl") -> Any:
    return sdk.files.create(file=(name, io.BytesIO(data)), purpose=purpose)  # type: ignore[arg-type]


def wait_ended(sdk: openai.OpenAI, batch_id: str, within: float = 60.0) -> Any:
    return wait_until(
        lambda: (b := sdk.batches.retrieve(batch_id)).status in ENDED and b,
        within=within,
        interval=0.1,
        what=f"batch {batch_id} to end",
    )


def output_lines(sdk: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    text = sdk.files.content(file_id).text
    return [json.loads(line) for line in text.splitlines() if line]


def service_account_token(gateway: Gateway, org: str, team: str, owner_token_email: str, name: str) -> str:
    """A service account of `team` (created if new) in `org`; returns its token secret."""
    import grpc
    from aqueduct.v1 import (
        service_account_pb2,
        service_account_service_pb2,
        team_service_pb2,
    )

    from tests.support.gateway import ADMIN_TOKEN

    admin, md = gateway.admin(), (("authorization", f"Bearer {ADMIN_TOKEN}"),)
    try:
        admin.teams.CreateTeam(team_service_pb2.CreateTeamRequest(parent=f"orgs/{org}", team_id=team), metadata=md)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
    reply = admin.service_accounts.CreateServiceAccount(
        service_account_service_pb2.CreateServiceAccountRequest(
            parent=f"orgs/{org}/teams/{team}",
            service_account_id=name,
            service_account=service_account_pb2.ServiceAccount(owner=f"users/{owner_token_email}"),
        ),
        metadata=md,
    )
    return str(reply.secret)


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
