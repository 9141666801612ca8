"""Redis first, the in-process limiter while Redis is unreachable, and back to Redis once it answers.

A failed Redis call falls back for that very request (the caller never sees the outage), marks Redis down
and logs it once; while down, requests go straight to the in-process limiter (no per-request timeouts) and
a probe pings Redis every `retry_interval` seconds. While down, limits are enforced per replica."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from redis.exceptions import RedisError

from core.governance.limits.backend import AdmitResult, Amounts, KeyState, LimiterBackend
from core.governance.limits.memory_backend import MemoryBackend
from core.governance.limits.redis_backend import RedisBackend

log = logging.getLogger("aqueduct.core.governance.limits")

# What "Redis is unreachable" looks like: the client's own errors, sockets, and its timeouts.
REDIS_FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

StatusListener = Callable[[bool], None]


class FailoverLimiter:
    def __init__(
        self,
        memory: MemoryBackend,
        redis: RedisBackend | None,
        *,
        retry_interval: float,
        on_status: StatusListener | None = None,
    ) -> None:
        self.memory = memory
        self.redis = redis
        self._retry_interval = retry_interval
        self._on_status = on_status
        self._redis_up = redis is not None
        self._probe: asyncio.Task[None] | None = None

    @property
    def redis_configured(self) -> bool:
        return self.redis is not None

    @property
    def redis_up(self) -> bool:
        return self._redis_up

    def status(self) -> dict[str, str]:
        """For /health: which backend limits requests right now."""
        if self.redis is None:
            return {"rate_limit_backend": "in-process", "redis": "not configured"}
        if self._redis_up:
            return {"rate_limit_backend": "redis", "redis": "ok"}
        return {"rate_limit_backend": "in-process (fallback)", "redis": "unreachable"}

    async def admit(
        self,
        keys: Sequence[str],
        limits: Sequence[Amounts],
        costs: Sequence[Amounts],
        needs: Sequence[Amounts] | None = None,
    ) -> tuple[AdmitResult, LimiterBackend]:
        """The result and the backend that holds the reservation (settle there)."""
        if self.redis is not None and self._redis_up:
            try:
                return await self.redis.admit(keys, limits, costs, needs), self.redis
            except REDIS_FAILURES as exc:
                self._went_down(exc)
        return self.memory.admit_now(keys, limits, costs, needs), self.memory

    async def settle(
        self,
        backend: LimiterBackend,
        keys: Sequence[str],
        slot: int,
        input_delta: int,
        output_tokens: int,
        reserved_output: int = 0,
    ) -> None:
        try:
            await backend.settle(keys, slot, input_delta, output_tokens, reserved_output)
        except REDIS_FAILURES as exc:
            # The reservation stays as estimated; the next admission notices the outage if it lasts.
            log.debug("rate-limit settlement lost: %s", exc)

    async def usage(self, keys: Sequence[str]) -> list[KeyState]:
        if self.redis is not None and self._redis_up:
            try:
                return await self.redis.usage(keys)
            except REDIS_FAILURES as exc:
                self._went_down(exc)
        return await self.memory.usage(keys)

    async def check_redis(self) -> None:
        """Pings Redis (at startup): when it does not answer, serving starts on the fallback and the probe
        waits for it, since serving with per-replica limits beats refusing to start."""
        if self.redis is None:
            return
        try:
            await self.redis.ping()
        except REDIS_FAILURES as exc:
            self._went_down(exc)

    def _went_down(self, exc: BaseException) -> None:
        if not self._redis_up:
            return
        self._redis_up = False
        log.warning(
            "Redis is unreachable (%s: %s); rate limits now use the in-process limiter (per replica) until it "
            "answers again",
            type(exc).__name__,
            exc,
        )
        self._notify(False)
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._wait_for_redis(), name="redis-probe")

    async def _wait_for_redis(self) -> None:
        assert self.redis is not None
        while True:
            await asyncio.sleep(self._retry_interval)
            try:
                await self.redis.reset()
                await self.redis.ping()
            except REDIS_FAILURES:
                continue
            self._redis_up = True
            log.warning("Redis answers again; rate limits use the shared Redis windows")
            self._notify(True)
            return

    def _notify(self, up: bool) -> None:
        if self._on_status is not None:
            try:
                self._on_status(up)
            except Exception:
                log.exception("rate-limit status listener failed")

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
            self._probe = None
        if self.redis is not None:
            await self.redis.aclose()
