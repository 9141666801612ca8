"""Failed-authentication throttling per client address: a flood of made-up tokens would otherwise cost one
database lookup per unique token. After `limit` failures within `window` seconds from one address, every
attempt from it is refused (RateLimited, with retry-after) for `block` seconds without looking anything up.
Other addresses are unaffected. State is per replica and bounded (the oldest addresses are forgotten)."""

from __future__ import annotations

import math

from core.auth.clock import Clock
from core.errors import RateLimited


class _Failures:
    __slots__ = ("blocked_until", "count", "window_start")

    def __init__(self, now: float) -> None:
        self.window_start = now
        self.count = 0
        self.blocked_until = 0.0


class FailureThrottle:
    """`limit` 0 turns throttling off."""

    def __init__(self, *, limit: int, window: float, block: float, max_addresses: int, clock: Clock) -> None:
        self._limit = limit
        self._window = window
        self._block = block
        self._max = max_addresses
        self._clock = clock
        self._by_addr: dict[str, _Failures] = {}

    def check(self, addr: str | None) -> None:
        """Raises RateLimited while `addr` is blocked."""
        if addr is None or not self._limit:
            return
        entry = self._by_addr.get(addr)
        if entry is None or not entry.blocked_until:
            return
        left = entry.blocked_until - self._clock.monotonic()
        if left > 0:
            raise RateLimited(
                f"Too many failed authentication attempts from this address; retry after {math.ceil(left)} seconds.",
                retry_after=left,
            )
        del self._by_addr[addr]

    def failed(self, addr: str | None) -> None:
        if addr is None or not self._limit:
            return
        now = self._clock.monotonic()
        entry = self._by_addr.get(addr)
        if entry is None or now - entry.window_start >= self._window:
            if entry is None and len(self._by_addr) >= self._max:
                del self._by_addr[next(iter(self._by_addr))]
            entry = self._by_addr[addr] = _Failures(now)
        entry.count += 1
        if entry.count >= self._limit:
            entry.blocked_until = now + self._block
