"""1,000 requests (unary and streamed, 32 at a time) against a pool where two of three deployments flap
(503s and connection resets at random) while one stays healthy: no client sees an error, the flapping ones
still serve their share, and afterwards open file descriptors and asyncio tasks are back to baseline."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections import Counter

from aqueduct.v1 import chat_service_pb2, model_service_pb2

from tests.integration.resilience.resilience_harness import (
    ADMIN_METADATA,
    chat,
    deployment,
    gateway,
    initial,
    settings_of,
)
from tests.support.fake_upstream import FakeUpstream

REQUESTS = 1000
CONCURRENCY = 32
# Every 4th request is a stream.
STREAM_EVERY = 4


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def _settle(measure: object, baseline: int, seconds: float = 5.0) -> int:
    """Polls until the count is back to the baseline (sockets close asynchronously on both ends)."""
    deadline = time.monotonic() + seconds
    while True:
        gc.collect()
        value: int = measure()  # type: ignore[operator]
        if value <= baseline or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


async def test_a_flapping_pool_with_one_healthy_deployment_shows_no_errors(upstream: FakeUpstream) -> None:
    settings = settings_of(
        deployment("pool", upstream, "healthy"),
        deployment("pool", upstream, "flap-503", {"status": 503, "fail_percent": 50}),
        deployment("pool", upstream, "flap-reset", {"reset": 1, "fail_percent": 40}),
        # Short cooldowns so the flapping deployments keep coming back and failing again.
        cooldown_time=0.2,
        retry_backoff_seconds=0.005,
    )
    upstream.reset()
    # The first gRPC server and channel of a process open grpc's own process-wide descriptors (epoll, eventfd,
    # a socket pair); one warm-up round keeps them out of the comparison.
    async with gateway(settings) as warm:
        await warm.chat.CreateChatCompletion(chat_service_pb2.CreateChatCompletionRequest(params=chat("pool")))
    await asyncio.sleep(0.1)
    fds_before = _open_fds()
    tasks_before = len(asyncio.all_tasks())
    errors: list[BaseException] = []
    served: Counter[str] = Counter()

    async with gateway(settings) as gw:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(REQUESTS):
            queue.put_nowait(i)

        async def one(i: int) -> None:
            params = chat("pool")
            if i % STREAM_EVERY == 0:
                stream = gw.chat.StreamChatCompletion(chat_service_pb2.StreamChatCompletionRequest(params=params))
                assert [c async for m in stream for c in m.chunks]
                metadata = await stream.initial_metadata()
            else:
                unary = gw.chat.CreateChatCompletion(chat_service_pb2.CreateChatCompletionRequest(params=params))
                await unary
                metadata = await unary.initial_metadata()
            served[initial(metadata)["x-aqueduct-deployment"]] += 1

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                try:
                    await one(i)
                except Exception as exc:  # collected: the assertion below shows them all
                    errors.append(exc)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.monotonic() - started
        events = await gw.sink.wait_for(REQUESTS)
        listing = await gw.models.ListDeployments(model_service_pb2.ListDeploymentsRequest(), metadata=ADMIN_METADATA)

    assert errors == [], f"{len(errors)} client-visible errors, first: {errors[0]!r}"
    assert sum(served.values()) == REQUESTS and elapsed < 25
    assert {e.status for e in events} == {200}
    # The flapping deployments did fail, and still served part of the traffic between failures.
    assert served["pool#1"] > 0 and served["pool#2"] > 0
    assert sum(d.failures_last_minute for d in listing.deployments) > 0
    assert all(d.in_flight == 0 for d in listing.deployments)

    # Nothing leaked: every upstream connection and every task is gone once the gateway is closed.
    assert await _settle(_open_fds, fds_before) <= fds_before
    assert await _settle(lambda: len(asyncio.all_tasks()), tasks_before) <= tasks_before
    assert upstream.app.in_flight == 0
