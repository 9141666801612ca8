"""Exact admission under concurrency: N concurrent requests against a limit of L admit exactly L, in one
process and across two "replicas" (two Redis clients, two backends) sharing one Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from core.governance.limits.memory_backend import MemoryBackend
from core.governance.limits.model import NONE, REQUEST_UNITS
from core.governance.limits.redis_backend import RedisBackend
from tests.support.databases import redis_url_or_skip
from tests.unit.limits.conftest import drop_prefix, redis_client_or_skip

LIMIT = 25
CONCURRENT = 200
LIMITS = [(LIMIT * REQUEST_UNITS, NONE, NONE, NONE), (1000 * REQUEST_UNITS, NONE, NONE, NONE)]
COSTS = [(REQUEST_UNITS, 0, 0, 0)] * 2


async def test_in_process_admits_exactly_the_limit() -> None:
    backend = MemoryBackend()
    results = await asyncio.gather(*(backend.admit(["m", "o"], LIMITS, COSTS) for _ in range(CONCURRENT)))
    assert sum(r.admitted for r in results) == LIMIT
    states = await backend.usage(["m", "o"])
    assert [s.used[0] for s in states] == [LIMIT * REQUEST_UNITS] * 2


@pytest.mark.redis
async def test_two_replicas_sharing_redis_admit_exactly_the_limit() -> None:
    first = await redis_client_or_skip()
    second = Redis.from_url(redis_url_or_skip())
    prefix = f"aqueduct-test:{uuid.uuid4().hex}:"
    try:
        replicas = [RedisBackend(first, prefix), RedisBackend(second, prefix)]
        calls = [replicas[i % 2].admit(["m", "o"], LIMITS, COSTS) for i in range(CONCURRENT)]
        results = await asyncio.gather(*calls)
        assert sum(r.admitted for r in results) == LIMIT
        states = await replicas[1].usage(["m", "o"])
        assert [s.used[0] for s in states] == [LIMIT * REQUEST_UNITS] * 2
    finally:
        await drop_prefix(first, prefix)
        await first.aclose()
        await second.aclose()
