"""A bounded TTL cache of token-hash -> token record, so authentication costs no database round trip on most
requests.

- Positive entries live `ttl` seconds: a token deleted on another replica stops working there within `ttl`.
- Negative entries (unknown hash) live `negative_ttl` seconds in their own, separately bounded map, so a flood
  of garbage tokens can neither hammer the database nor evict real entries.
- Concurrent misses for one hash share a single load (single flight).
- `invalidate` drops an entry at once (local delete/regenerate), and a load that was in flight while the
  entry was invalidated is returned to its waiters but not cached.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from core.auth.clock import Clock, SystemClock
from core.auth.principal import Principal


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What one token resolves to; expiry is kept so it is checked on every request without the database."""

    principal: Principal
    expires_at: datetime | None


Loader = Callable[[str], Awaitable[TokenRecord | None]]


class TokenCache:
    def __init__(
        self,
        loader: Loader,
        *,
        ttl: float,
        negative_ttl: float,
        max_entries: int,
        clock: Clock | None = None,
    ) -> None:
        self._loader = loader
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._max_entries = max_entries
        self._clock = clock or SystemClock()
        self._positive: OrderedDict[str, tuple[float, TokenRecord]] = OrderedDict()
        self._negative: OrderedDict[str, float] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[TokenRecord | None]] = {}
        self._epoch = 0
        self.loads = 0  # how many times the loader ran; for tests and metrics

    def __len__(self) -> int:
        return len(self._positive) + len(self._negative)

    async def get(self, secret_hash: str) -> TokenRecord | None:
        now = self._clock.monotonic()
        hit = self._positive.get(secret_hash)
        if hit is not None and now - hit[0] < self._ttl:
            self._positive.move_to_end(secret_hash)
            return hit[1]
        stored_at = self._negative.get(secret_hash)
        if stored_at is not None and now - stored_at < self._negative_ttl:
            return None
        task = self._inflight.get(secret_hash)
        if task is None:
            task = asyncio.create_task(self._load(secret_hash, self._epoch))
            self._inflight[secret_hash] = task
            task.add_done_callback(lambda t: self._load_done(secret_hash, t))
        # Shielded: one caller giving up (cancelled RPC) must not cancel the load the others wait for.
        return await asyncio.shield(task)

    def invalidate(self, secret_hash: str) -> None:
        self._positive.pop(secret_hash, None)
        self._negative.pop(secret_hash, None)
        self._epoch += 1

    def clear(self) -> None:
        self._positive.clear()
        self._negative.clear()
        self._epoch += 1

    async def _load(self, secret_hash: str, epoch: int) -> TokenRecord | None:
        self.loads += 1
        record = await self._loader(secret_hash)
        if epoch == self._epoch:
            self._store(secret_hash, record)
        return record

    def _store(self, secret_hash: str, record: TokenRecord | None) -> None:
        now = self._clock.monotonic()
        if record is None:
            self._positive.pop(secret_hash, None)
            self._negative[secret_hash] = now
            self._negative.move_to_end(secret_hash)
            while len(self._negative) > self._max_entries:
                self._negative.popitem(last=False)
        else:
            self._negative.pop(secret_hash, None)
            self._positive[secret_hash] = (now, record)
            self._positive.move_to_end(secret_hash)
            while len(self._positive) > self._max_entries:
                self._positive.popitem(last=False)

    def _load_done(self, secret_hash: str, task: asyncio.Task[TokenRecord | None]) -> None:
        if self._inflight.get(secret_hash) is task:
            del self._inflight[secret_hash]
        # Mark a failure as seen even if every waiter was cancelled; the waiters that remain still get it.
        if not task.cancelled():
            task.exception()
