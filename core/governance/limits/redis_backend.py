"""The Redis backend: the windows live in Redis and every step is one Lua script (core.governance.limits.redis_scripts),
so replicas sharing a Redis admit exactly as one process would. Redis errors propagate (as RedisError);
core.governance.limits.failover decides what to do about them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from core.governance.limits import redis_scripts
from core.governance.limits.backend import AdmitResult, Amounts, KeyState, Rejection
from core.governance.limits.model import SLOT_MS, WINDOW_SLOTS
from core.governance.limits.redis_pipelining import ScriptCalls

_STATE_WIDTH = 5  # r, i, o, t, hi per key


def _states(values: Sequence[Any], offset: int, count: int, now_ms: int) -> tuple[KeyState, ...]:
    states = []
    for k in range(count):
        r, i, o, t, hi = (int(v) for v in values[offset + k * _STATE_WIDTH : offset + (k + 1) * _STATE_WIDTH])
        used = (r, i, o, t)
        reset = max(0, (hi + WINDOW_SLOTS) * SLOT_MS - now_ms) if hi >= 0 and any(used) else 0
        states.append(KeyState(used, reset))
    return tuple(states)


class RedisBackend:
    """`prefix` is prepended to every key (deployments and tests sharing one Redis keep apart); `timeout`
    bounds each admission and settlement round trip; `now_ms` overrides Redis's clock (tests only)."""

    name = "redis"

    def __init__(self, client: Redis, prefix: str, *, timeout: float, now_ms: Any = None) -> None:
        self._client = client
        self._prefix = prefix
        self._now_ms = now_ms
        # The request path's calls (admit, settle): a dedicated connection, overlapping calls batched.
        self._calls = ScriptCalls(client, timeout=timeout)
        self._admit = client.register_script(redis_scripts.ADMIT)
        self._settle = client.register_script(redis_scripts.SETTLE)
        self._usage = client.register_script(redis_scripts.USAGE)

    def _keys(self, keys: Sequence[str]) -> list[str]:
        return [self._prefix + key for key in keys]

    def _head(self) -> list[int]:
        now = int(self._now_ms()) if self._now_ms is not None else 0
        return [WINDOW_SLOTS, SLOT_MS, now]

    async def admit(
        self,
        keys: Sequence[str],
        limits: Sequence[Amounts],
        costs: Sequence[Amounts],
        needs: Sequence[Amounts] | None = None,
    ) -> AdmitResult:
        args: list[int] = self._head()
        for limit, cost, need in zip(limits, costs, costs if needs is None else needs, strict=True):
            args.extend(limit)
            args.extend(cost)
            args.extend(need)
        values = await self._calls.run(self._admit, self._keys(keys), args)
        admitted, slot, now_ms, fail_index, fail_dim, too_large, retry_ms = (int(v) for v in values[:7])
        rejection = None
        if not admitted:
            rejection = Rejection(fail_index - 1, fail_dim, retry_ms, too_large=bool(too_large))
        return AdmitResult(slot, _states(values, 7, len(keys), now_ms), rejection)

    async def settle(
        self, keys: Sequence[str], slot: int, input_delta: int, output_tokens: int, reserved_output: int = 0
    ) -> None:
        args = [*self._head(), slot, input_delta, output_tokens, reserved_output]
        await self._calls.run(self._settle, self._keys(keys), args)

    async def usage(self, keys: Sequence[str]) -> list[KeyState]:
        if not keys:
            return []
        values = await self._usage(keys=self._keys(keys), args=self._head())
        return list(_states(values, 1, len(keys), int(values[0])))

    async def ping(self) -> bool:
        return bool(await self._client.ping())

    async def reset(self) -> None:
        """Drops every pooled connection: after an outage they are dead sockets, and each would fail one
        request before the pool noticed."""
        await self._client.connection_pool.disconnect()
        await self._calls.reset()

    async def aclose(self) -> None:
        """Waits for calls still on the wire; the client itself belongs to whoever made it."""
        await self._calls.aclose()
