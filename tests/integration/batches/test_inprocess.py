"""Files and batches with core and the façade in the test's own process (CoreServer + the façade app on the
in-process channel, served by uvicorn on loopback), through the async OpenAI SDK: the same flows as the
subprocess tests, plus live traffic beside a batch under a tight rate limit."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import openai
import pytest
from aqueduct.v1 import org_service_pb2, token_pb2, token_service_pb2, user_pb2, user_service_pb2
from aqueduct_client.cli._connection import Admin

from core.server import CoreServer
from core.settings import Settings
from http_facade.app import create_app
from http_facade.settings import FacadeSettings
from tests.integration.batches.conftest import batch_config, chat_line, jsonl
from tests.support.asgi_server import serve_on_loopback
from tests.support.fake_upstream import FakeUpstream
from tests.support.waiting import async_wait_until

ADMIN = "sk-admin-inprocess-" + "y" * 32
ENDED = ("completed", "failed", "expired", "cancelled")


@dataclass
class Stack:
    base_url: str
    core_target: str

    async def token(self, email: str) -> str:
        channel = grpc.aio.insecure_channel(self.core_target)
        admin = Admin.over(channel)  # type: ignore[arg-type]
        md = (("authorization", f"Bearer {ADMIN}"),)
        try:
            try:
                await admin.orgs.CreateOrg(org_service_pb2.CreateOrgRequest(org_id="inproc"), metadata=md)
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.ALREADY_EXISTS
            await admin.users.CreateUser(
                user_service_pb2.CreateUserRequest(user_id=email, user=user_pb2.User(org="orgs/inproc")), metadata=md
            )
            reply = await admin.tokens.CreateToken(
                token_service_pb2.CreateTokenRequest(token=token_pb2.Token(user=f"users/{email}")), metadata=md
            )
            return str(reply.secret)
        finally:
            await channel.close()

    def sdk(self, token: str) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base_url + "/v1", api_key=token, max_retries=0)


@pytest.fixture(scope="module")
def upstream() -> Any:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
async def stack(upstream: FakeUpstream, tmp_path: Path) -> AsyncIterator[Stack]:
    config = batch_config(
        upstream.url,
        f"sqlite:///{tmp_path / 'a.db'}",
        data_dir=str(tmp_path / "var"),
        grpc_port=0,
        batch_output_expiry_seconds=1,
        file_sweep_interval_seconds=0.2,
    )
    config["model_list"][0]["litellm_params"]["rpm"] = 10  # chat-model: 10 requests per minute in all
    settings = Settings.model_validate(config)
    core = CoreServer(settings, admin_token=ADMIN)
    port = await core.start("127.0.0.1:0")
    app = create_app(
        f"127.0.0.1:{port}",
        settings=FacadeSettings(max_file_bytes=settings.max_file_bytes),
        core_channel=core.local_channel,
    )
    try:
        async with serve_on_loopback(app) as base_url:
            yield Stack(base_url, f"127.0.0.1:{port}")
    finally:
        await core.stop(grace=1)


async def _ended(sdk: openai.AsyncOpenAI, batch_id: str) -> Any:
    async def check() -> Any:
        batch = await sdk.batches.retrieve(batch_id)
        return batch if batch.status in ENDED else None

    return await async_wait_until(check, within=30, interval=0.05, what="the batch to end")


async def test_files_and_a_batch_in_process(stack: Stack) -> None:
    sdk = stack.sdk(await stack.token("a@inproc.test"))
    async with sdk:
        data = b"abc" * 500_000
        made = await sdk.files.create(file=("d.bin", io.BytesIO(data)), purpose="user_data")
        assert (await sdk.files.content(made.id)).content == data
        assert [f.id for f in (await sdk.files.list(purpose="user_data")).data] == [made.id]
        lines = [{**chat_line("e1"), "body": {"model": "embed-model", "input": "x"}}]
        bad = await sdk.files.create(file=("bad.jsonl", io.BytesIO(jsonl(lines) + b"{oops\n")), purpose="batch")
        failed = await _ended(
            sdk, (await sdk.batches.create(input_file_id=bad.id, endpoint="/v1/embeddings", completion_window="24h")).id
        )
        assert failed.status == "failed"
        assert [(e.code, e.line) for e in failed.errors.data] == [("invalid_url", 1), ("invalid_json_line", 2)]  # type: ignore[union-attr]
        good = await sdk.files.create(
            file=("in.jsonl", io.BytesIO(jsonl([chat_line("x"), chat_line("y", "nope")]))), purpose="batch"
        )
        batch = await sdk.batches.create(
            input_file_id=good.id, endpoint="/v1/chat/completions", completion_window="24h", metadata={"k": "v"}
        )
        done = await _ended(sdk, batch.id)
        assert done.status == "completed" and done.metadata == {"k": "v"}
        out = (await sdk.files.content(done.output_file_id)).text  # type: ignore[arg-type]
        assert [json.loads(line)["custom_id"] for line in out.splitlines()] == ["x"]
        assert (await sdk.batches.list()).data[0].id == batch.id
        # Output files expire after batch_output_expiry_seconds and the sweeper removes them.

        async def swept() -> bool:
            return done.output_file_id not in [f.id for f in (await sdk.files.list(purpose="batch_output")).data]

        await async_wait_until(swept, within=10, what="the output file to expire")
        await sdk.files.delete(made.id)
        with pytest.raises(openai.NotFoundError):
            await sdk.files.retrieve(made.id)


async def test_live_requests_keep_room_beside_a_batch(stack: Stack) -> None:
    sdk = stack.sdk(await stack.token("b@inproc.test"))
    async with sdk:
        file = await sdk.files.create(
            file=("in.jsonl", io.BytesIO(jsonl([chat_line(f"l{i}") for i in range(20)]))), purpose="batch"
        )
        batch = await sdk.batches.create(
            input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
        )

        async def batch_took_its_share() -> bool:
            return (await sdk.batches.retrieve(batch.id)).request_counts.completed >= 8

        await async_wait_until(batch_took_its_share, within=15, what="8 lines (80 % of the 10 rpm)")
        # The batch stops at 80 % of the window: the remaining requests are the owner's interactive ones.
        for _ in range(2):
            reply = await sdk.chat.completions.create(model="chat-model", messages=[{"role": "user", "content": "hi"}])
            assert reply.choices
        current = await sdk.batches.retrieve(batch.id)
        assert current.status == "in_progress" and current.request_counts.completed == 8
        assert current.request_counts.failed == 0  # waiting lines are not failures
        await sdk.batches.cancel(batch.id)
        cancelled = await _ended(sdk, batch.id)
        assert cancelled.status == "cancelled" and cancelled.request_counts.completed == 8
