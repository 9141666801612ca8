"""A fake clock, and the same backend tests on the in-process and the Redis backend (Redis only when
AQUEDUCT_TEST_REDIS_URL is set; each test gets its own key prefix, deleted afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from core.governance.limits.backend import LimiterBackend
from core.governance.limits.memory_backend import MemoryBackend
from core.governance.limits.redis_backend import RedisBackend
from core.governance.limits.redis_wire import RedisWire
from tests.support.databases import redis_url_or_skip

START = 1_800_000_000.0  # seconds; any fixed point works


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def ms(self) -> int:
        return int(self.now * 1000)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def redis_client_or_skip() -> Redis:
    return Redis.from_url(redis_url_or_skip())


async def drop_prefix(client: Redis, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)


@pytest.fixture
async def redis_prefix() -> AsyncIterator[tuple[Redis, str]]:
    client = await redis_client_or_skip()
    prefix = f"aqueduct-test:{uuid.uuid4().hex}:"
    try:
        yield client, prefix
    finally:
        await drop_prefix(client, prefix)
        await client.aclose()


@pytest.fixture(
    params=[
        "memory",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-wire", marks=pytest.mark.redis),
    ]
)
async def backend(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[LimiterBackend]:
    """The in-process backend, and the Redis backend with its scripts sent through redis-py and through
    core.governance.limits.redis_wire (what the gateway uses on the request path)."""
    if request.param == "memory":
        yield MemoryBackend(clock=clock)
        return
    client = await redis_client_or_skip()
    prefix = f"aqueduct-test:{uuid.uuid4().hex}:"
    wire = RedisWire(redis_url_or_skip(), timeout=5) if request.param == "redis-wire" else None
    try:
        yield RedisBackend(client, prefix, now_ms=clock.ms, wire=wire)
    finally:
        if wire is not None:
            wire.close()
        await drop_prefix(client, prefix)
        await client.aclose()
