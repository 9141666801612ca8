"""The Redis backend against a real Redis: the backend behaviour tests of tests/unit/limits on Redis, exact
admission across two replicas, concurrent calls sharing round trips (each caller still gets its own reply,
a forgotten script is loaded again), and failover against a redis-server that stops and comes back."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from core.governance.limits.backend import Amounts
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.memory_backend import MemoryBackend
from core.governance.limits.model import NONE, REQUEST_UNITS
from core.governance.limits.redis_backend import RedisBackend
from core.redis_connection import redis_client
from tests.support.databases import redis_url_or_skip
from tests.support.redis_servers import free_port, redis_server
from tests.unit.limits.conftest import FakeClock
from tests.unit.limits.test_limits_backends import (  # noqa: F401 - collected here again, on the Redis backend
    test_output_reservations_are_admitted_below_the_limit_and_released_on_settlement,
    test_rejection_counts_nothing_anywhere,
    test_reset_is_when_the_window_has_emptied,
    test_settle_corrects_the_reserved_input_and_adds_output,
    test_settling_a_slot_that_left_the_window_changes_nothing,
    test_token_limits_need_room_and_too_large_requests_say_so,
    test_unlimited_dimensions_are_still_counted,
    test_window_slides_instead_of_resetting_at_a_boundary,
)

U = REQUEST_UNITS
pytestmark = pytest.mark.redis


async def drop_prefix(client: Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def shared_redis() -> AsyncIterator[tuple[Redis, str]]:
    """A client of the shared test Redis (AQUEDUCT_TEST_REDIS_URL) and a key prefix of this test's own."""
    client = redis_client(redis_url_or_skip(), timeout=5)
    prefix = f"aqueduct-test:{uuid.uuid4().hex}:"
    try:
        yield client, prefix
    finally:
        await drop_prefix(client, prefix)
        await client.aclose()


_open_backends: list[RedisBackend] = []


def request_backend(backend: RedisBackend) -> None:
    """Closed after the test (its dedicated connection)."""
    _open_backends.append(backend)


@pytest.fixture(autouse=True)
async def _close_backends() -> AsyncIterator[None]:
    yield
    while _open_backends:
        await _open_backends.pop().aclose()


@pytest.fixture
async def backend(shared_redis: tuple[Redis, str], clock: FakeClock) -> AsyncIterator[RedisBackend]:
    client, prefix = shared_redis
    backend = RedisBackend(client, prefix, timeout=5, now_ms=clock.ms)
    yield backend
    await backend.aclose()


LIMIT = 25
CONCURRENT = 200
LIMITS: list[Amounts] = [(LIMIT * U, NONE, NONE, NONE), (1000 * U, NONE, NONE, NONE)]
COSTS: list[Amounts] = [(U, 0, 0, 0)] * 2


async def test_two_replicas_sharing_redis_admit_exactly_the_limit(shared_redis: tuple[Redis, str]) -> None:
    first, prefix = shared_redis
    second = redis_client(redis_url_or_skip(), timeout=5)
    replicas = [RedisBackend(first, prefix, timeout=5), RedisBackend(second, prefix, timeout=5)]
    try:
        calls = [replicas[i % 2].admit(["m", "o"], LIMITS, COSTS) for i in range(CONCURRENT)]
        results = await asyncio.gather(*calls)
        assert sum(r.admitted for r in results) == LIMIT
        states = await replicas[1].usage(["m", "o"])
        assert [s.used[0] for s in states] == [LIMIT * U] * 2
    finally:
        for replica in replicas:
            await replica.aclose()
        await second.aclose()


async def test_concurrent_calls_each_get_their_own_reply(shared_redis: tuple[Redis, str]) -> None:
    client, prefix = shared_redis
    backend = RedisBackend(client, prefix, timeout=5)
    request_backend(backend)
    unlimited: list[Amounts] = [(NONE, NONE, NONE, NONE)]
    # 100 callers at once, each with a key and an input cost of its own: the calls queue behind the first
    # and go as pipelines, and every reply must still reach its own caller.
    results = await asyncio.gather(*(backend.admit([f"k{i}"], unlimited, [(U, i + 1, 0, 0)]) for i in range(100)))
    assert [r.states[0].used[1] for r in results] == [i + 1 for i in range(100)]
    await backend.settle(["k7"], results[7].slot, 10, 5)
    [state] = await backend.usage(["k7"])
    assert state.used[1:3] == (18, 5)


async def test_callers_that_give_up_never_get_or_shift_anyone_elses_reply(shared_redis: tuple[Redis, str]) -> None:
    client, prefix = shared_redis
    backend = RedisBackend(client, prefix, timeout=5)
    request_backend(backend)
    unlimited: list[Amounts] = [(NONE, NONE, NONE, NONE)]
    tasks = [asyncio.create_task(backend.admit([f"k{i}"], unlimited, [(U, i + 1, 0, 0)])) for i in range(60)]
    await asyncio.sleep(0)  # let them start: the first is on the wire, the others queued
    for task in tasks[::3]:
        task.cancel()  # including the one on the wire: its connection is dropped, the rest go on
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for i, result in enumerate(results):
        if i % 3:
            assert not isinstance(result, BaseException), result
            assert result.states[0].used[1] == i + 1  # its own key, its own reply
    states = await backend.usage([f"k{i}" for i in range(60) if i % 3])
    assert [s.used[1] for s in states] == [i + 1 for i in range(60) if i % 3]
    # Those that gave up while queued were never sent (the first was already on the wire: it may have run).
    assert [s.used[1] for s in await backend.usage([f"k{i}" for i in range(3, 60, 3)])] == [0] * 19
    assert (await backend.admit(["after"], unlimited, [(U, 5, 0, 0)])).states[0].used[1] == 5


async def test_a_forgotten_script_is_loaded_again_alone_and_in_a_pipeline(shared_redis: tuple[Redis, str]) -> None:
    client, prefix = shared_redis
    backend = RedisBackend(client, prefix, timeout=5)
    request_backend(backend)
    limits: list[Amounts] = [(10**9, 10**9, 10**9, 10**9)]
    await client.script_flush()  # as after a Redis restart: EVALSHA answers NOSCRIPT
    assert (await backend.admit(["k"], limits, [(U, 10, 0, 0)])).admitted
    await client.script_flush()
    results = await asyncio.gather(*(backend.admit(["k"], limits, [(U, 10, 0, 0)]) for _ in range(20)))
    assert all(r.admitted for r in results)
    assert (await backend.usage(["k"]))[0].used[1] == 210


async def test_an_unreachable_redis_falls_back_at_once() -> None:
    client = redis_client(f"redis://127.0.0.1:{free_port()}/0", timeout=1)  # nothing listens there
    limiter = FailoverLimiter(MemoryBackend(), RedisBackend(client, "x:", timeout=1), retry_interval=60)
    try:
        results = await asyncio.gather(*(limiter.admit(["k"], LIMITS, COSTS) for _ in range(10)))
        assert all(result.admitted and used is limiter.memory for result, used in results)
        assert not limiter.redis_up
    finally:
        await limiter.aclose()
        await client.aclose()


async def test_redis_stopping_and_coming_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    statuses: list[bool] = []
    back = asyncio.Event()

    def on_status(up: bool) -> None:
        statuses.append(up)
        if up:
            back.set()

    client = redis_client(f"redis://127.0.0.1:{port}/0", timeout=1)
    limiter = FailoverLimiter(
        MemoryBackend(), RedisBackend(client, "t:", timeout=1), retry_interval=0.05, on_status=on_status
    )
    caplog.set_level(logging.WARNING, logger="aqueduct.core.governance.limits")
    try:
        with redis_server(tmp_path / "first", port=port):
            await limiter.check_redis()
            _, used = await limiter.admit(["k"], LIMITS, COSTS)
            assert used is limiter.redis
        # Stopped: the request that meets the outage is served by the fallback, and it is logged.
        result, used = await limiter.admit(["k"], LIMITS, COSTS)
        assert result.admitted and used is limiter.memory
        assert statuses == [False] and "Redis is unreachable" in caplog.text
        with redis_server(tmp_path / "second", port=port):
            async with asyncio.timeout(10):
                await back.wait()  # the probe notices on its own
            assert statuses == [False, True] and "Redis answers again" in caplog.text
            _, used = await limiter.admit(["k"], LIMITS, COSTS)
            assert used is limiter.redis
    finally:
        await limiter.aclose()
        await client.aclose()
