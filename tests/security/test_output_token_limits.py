"""Issue 16 item 9: an output-TPM limit holds under concurrency. The review set --output-tpm 50 and opened 40
streams at once: all 40 were admitted and used 520 output tokens (10.4x), on one replica and on two sharing
Redis, because output tokens were only counted when a stream ended.

Now each request reserves its max_tokens (or the default output reservation, capped at the limit) when it is
admitted and is admitted only while the window is below the limit, so the output admitted is at most
limit - 1 + one request's reservation; a max_tokens above the limit is too large."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from tests.integration.governance.conftest import MESSAGES, Tenant, governance_config
from tests.security._gated_upstream import TOKENS_PER_ANSWER, GatedApp, gated_upstream
from tests.support.databases import PG_ENV, fresh_postgres_database, redis_url_or_skip
from tests.support.gateway import ADMIN_TOKEN, Gateway
from tests.support.waiting import wait_until

OUTPUT_TPM = 50
STREAMS = 40


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, GatedApp]]:
    server, app = gated_upstream()
    app.open()  # closed only while a flood runs
    try:
        yield server.url, app
    finally:
        app.open()
        server.stop()


def _start(stack: ExitStack, config: dict[str, Any], directory: Path) -> Gateway:
    directory.mkdir(parents=True, exist_ok=True)
    gw = Gateway(config, directory)
    stack.callback(gw.stop)
    return gw.start()


@pytest.fixture(scope="module")
def one_replica(upstream: tuple[str, GatedApp], tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Gateway]]:
    workdir = tmp_path_factory.mktemp("output-tpm-one")
    with ExitStack() as stack:
        yield [_start(stack, governance_config(upstream[0], f"sqlite:///{workdir / 'a.db'}"), workdir / "a")]


@pytest.fixture(scope="module")
def two_replicas(upstream: tuple[str, GatedApp], tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Gateway]]:
    redis_url = redis_url_or_skip()
    workdir = tmp_path_factory.mktemp("output-tpm-two")
    with ExitStack() as stack:
        if os.environ.get(PG_ENV):
            db_url = stack.enter_context(fresh_postgres_database(os.environ[PG_ENV]))
        else:
            db_url = f"sqlite:///{workdir / 'shared.db'}"
        config = governance_config(
            upstream[0], db_url, redis_url=redis_url, rate_limit_redis_prefix=f"aqueduct-test:{uuid.uuid4().hex}:"
        )
        yield [_start(stack, config, workdir / name) for name in ("a", "b")]


def _limited_user(gateways: list[Gateway]) -> str:
    """A fresh user with --output-tpm 50 that every replica already enforces."""
    first = gateways[0]
    org = f"org{uuid.uuid4().hex[:8]}"
    first.cli("org", "create", org)
    email, token = Tenant(first, org).user("flood")
    first.cli("limits", "set", "--user", email, "--output-tpm", str(OUTPUT_TPM), token=ADMIN_TOKEN)

    def enforced(gw: Gateway) -> bool:
        # max_tokens above the limit is rejected as too large only once the replica knows the limit.
        reply = httpx2.post(
            gw.v1 + "/chat/completions",
            headers={"Authorization": f"Bearer {token}"},
            json={"model": "chat-model", "messages": MESSAGES, "max_tokens": OUTPUT_TPM + 1},
            timeout=30,
        )
        return reply.status_code == 429 and "too large" in reply.json()["error"]["message"]

    for gw in gateways:
        wait_until(lambda gw=gw: enforced(gw), interval=0.1, what="the output limit on a replica")
    return token


async def _flood(gateways: list[Gateway], token: str, app: GatedApp, max_tokens: int | None) -> tuple[int, int]:
    """STREAMS concurrent streams, all decided (admitted or 429) while the admitted ones are still running;
    returns (admitted, output tokens the admitted ones used)."""
    clients = [openai.AsyncOpenAI(base_url=gw.v1, api_key=token, max_retries=0, timeout=60) for gw in gateways]
    decided = 0
    all_decided = asyncio.Event()
    extra: dict[str, Any] = {} if max_tokens is None else {"max_tokens": max_tokens}

    def mark() -> None:
        nonlocal decided
        decided += 1
        if decided == STREAMS:
            all_decided.set()

    async def one(i: int) -> int | None:
        try:
            stream = await clients[i % len(clients)].chat.completions.create(
                model="chat-model", messages=MESSAGES, stream=True, stream_options={"include_usage": True}, **extra
            )
        except openai.RateLimitError:
            mark()
            return None
        mark()
        used = 0
        async for chunk in stream:
            if chunk.usage is not None:
                used = chunk.usage.completion_tokens
        return used

    app.close()
    tasks = [asyncio.create_task(one(i)) for i in range(STREAMS)]
    await asyncio.wait_for(all_decided.wait(), 60)
    app.open()
    results = await asyncio.gather(*tasks)
    for client in clients:
        await client.close()
    admitted = [r for r in results if r is not None]
    return len(admitted), sum(admitted)


@pytest.mark.parametrize("max_tokens", [20, None], ids=["max_tokens=20", "no-max_tokens"])
def test_one_replica_bounds_concurrent_output(
    one_replica: list[Gateway], upstream: tuple[str, GatedApp], max_tokens: int | None
) -> None:
    _check_bound(one_replica, upstream[1], max_tokens)


@pytest.mark.redis
@pytest.mark.parametrize("max_tokens", [20, None], ids=["max_tokens=20", "no-max_tokens"])
def test_two_replicas_sharing_redis_bound_concurrent_output(
    two_replicas: list[Gateway], upstream: tuple[str, GatedApp], max_tokens: int | None
) -> None:
    _check_bound(two_replicas, upstream[1], max_tokens)


def _check_bound(gateways: list[Gateway], app: GatedApp, max_tokens: int | None) -> None:
    token = _limited_user(gateways)
    admitted, output = asyncio.run(_flood(gateways, token, app, max_tokens))
    # No max_tokens: the default reservation (1024) capped at the limit, so one stream at a time.
    reservation = OUTPUT_TPM if max_tokens is None else max_tokens
    bound = OUTPUT_TPM - 1 + reservation
    print(f"replicas={len(gateways)} max_tokens={max_tokens}: {admitted} admitted, {output} output tokens")
    assert admitted >= 1
    assert output <= bound, (admitted, output)
    assert admitted * min(reservation, TOKENS_PER_ANSWER) == output
    assert admitted <= -(-(OUTPUT_TPM) // reservation)  # ceil(limit / reservation)
