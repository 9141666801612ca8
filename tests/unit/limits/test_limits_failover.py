"""Redis going away: the request that meets the outage falls back at once, later ones go straight to the
in-process limiter, the status says so, and Redis is used again once it answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from core.governance.limits.backend import AdmitResult, Amounts, KeyState
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.memory_backend import MemoryBackend
from core.governance.limits.model import NONE, REQUEST_UNITS

LIMITS = [(2 * REQUEST_UNITS, NONE, NONE, NONE)]
COSTS = [(REQUEST_UNITS, 0, 0, 0)]


class FlakyRedis:
    """Stands in for RedisBackend: the in-process backend underneath, or ConnectionError while down."""

    name = "redis"

    def __init__(self) -> None:
        self.down = False
        self.calls = 0
        self.resets = 0
        self._inner = MemoryBackend()

    def _check(self) -> None:
        self.calls += 1
        if self.down:
            raise RedisConnectionError("connection refused")

    async def admit(
        self,
        keys: Sequence[str],
        limits: Sequence[Amounts],
        costs: Sequence[Amounts],
        needs: Sequence[Amounts] | None = None,
    ) -> AdmitResult:
        self._check()
        return await self._inner.admit(keys, limits, costs, needs)

    async def settle(
        self, keys: Sequence[str], slot: int, input_delta: int, output_tokens: int, reserved_output: int = 0
    ) -> None:
        self._check()
        await self._inner.settle(keys, slot, input_delta, output_tokens, reserved_output)

    async def usage(self, keys: Sequence[str]) -> list[KeyState]:
        self._check()
        return await self._inner.usage(keys)

    async def ping(self) -> bool:
        self._check()
        return True

    async def reset(self) -> None:
        self.resets += 1

    async def aclose(self) -> None:
        pass


async def test_falls_back_reports_it_and_returns(caplog: pytest.LogCaptureFixture) -> None:
    redis = FlakyRedis()
    statuses: list[bool] = []
    limiter = FailoverLimiter(MemoryBackend(), redis, retry_interval=0.01, on_status=statuses.append)  # type: ignore[arg-type]
    try:
        _, used = await limiter.admit(["k"], LIMITS, COSTS)
        assert used is redis and limiter.status()["rate_limit_backend"] == "redis"
        redis.down = True
        with caplog.at_level(logging.WARNING, logger="aqueduct.core.governance.limits"):
            result, used = await limiter.admit(["k"], LIMITS, COSTS)
        assert result.admitted and used is limiter.memory  # the request itself never saw the outage
        assert statuses == [False]
        assert limiter.status() == {"rate_limit_backend": "in-process (fallback)", "redis": "unreachable"}
        assert "Redis is unreachable" in caplog.text
        calls = redis.calls
        _, used = await limiter.admit(["k"], LIMITS, COSTS)
        assert used is limiter.memory
        redis.down = False
        for _ in range(100):
            if limiter.redis_up:
                break
            await asyncio.sleep(0.01)
        assert statuses == [False, True]
        assert redis.calls > calls  # only the probe touched it meanwhile
        assert redis.resets >= 1  # connections from before the outage were dropped
        _, used = await limiter.admit(["k"], LIMITS, COSTS)
        assert used is redis
    finally:
        await limiter.aclose()


async def test_settlement_lost_to_an_outage_is_not_an_error() -> None:
    redis = FlakyRedis()
    limiter = FailoverLimiter(MemoryBackend(), redis, retry_interval=1)  # type: ignore[arg-type]
    result, used = await limiter.admit(["k"], LIMITS, COSTS)
    redis.down = True
    await limiter.settle(used, ["k"], result.slot, 5, 5)
    await limiter.aclose()


async def test_redis_down_at_startup_starts_on_the_fallback() -> None:
    redis = FlakyRedis()
    redis.down = True
    statuses: list[bool] = []
    limiter = FailoverLimiter(MemoryBackend(), redis, retry_interval=60, on_status=statuses.append)  # type: ignore[arg-type]
    try:
        await limiter.check_redis()
        assert not limiter.redis_up and statuses == [False]
        _, used = await limiter.admit(["k"], LIMITS, COSTS)
        assert used is limiter.memory
    finally:
        await limiter.aclose()


def test_status_without_redis() -> None:
    limiter = FailoverLimiter(MemoryBackend(), None, retry_interval=1)
    assert limiter.status() == {"rate_limit_backend": "in-process", "redis": "not configured"}
    assert not limiter.redis_configured
