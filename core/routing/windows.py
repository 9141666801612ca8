"""A sliding-window sum (requests or tokens in the last minute), amortised O(1) per call, in bounded memory."""

from __future__ import annotations

import math
from collections import deque

# Buckets per window: a minute window counts per second. Memory is bounded by this, not by traffic (one entry
# per call held ~120,000 entries a minute at 2,000 requests/s).
DEFAULT_BUCKETS = 60


class SlidingSum:
    """Sum of the amounts added during the last `window` seconds of a monotonic clock. Amounts are kept per
    bucket of `window / buckets` seconds and leave the window when their whole bucket has: up to one bucket
    late, never early, so an rpm/tpm cap built on it is never exceeded."""

    def __init__(self, window: float, buckets: int = DEFAULT_BUCKETS) -> None:
        self._window = window
        self._step = window / max(1, buckets)
        self._entries: deque[list[int]] = deque()  # [bucket index, amount], oldest first
        self._sum = 0

    def add(self, now: float, amount: int = 1) -> None:
        if amount <= 0:
            return
        self._prune(now)
        index = math.floor(now / self._step)
        entries = self._entries
        if entries and entries[-1][0] == index:
            entries[-1][1] += amount
        else:
            entries.append([index, amount])
        self._sum += amount

    def total(self, now: float) -> int:
        self._prune(now)
        return self._sum

    def frees_in(self, now: float) -> float:
        """Seconds until the oldest amount leaves the window (0 when empty)."""
        self._prune(now)
        if not self._entries:
            return 0.0
        return max(0.0, self._bucket_end(self._entries[0][0]) + self._window - now)

    def clear(self) -> None:
        self._entries.clear()
        self._sum = 0

    def _bucket_end(self, index: int) -> float:
        return (index + 1) * self._step

    def _prune(self, now: float) -> None:
        horizon = now - self._window
        entries = self._entries
        while entries and self._bucket_end(entries[0][0]) <= horizon:
            self._sum -= entries.popleft()[1]
