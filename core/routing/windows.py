"""A sliding-window sum (requests or tokens in the last minute), amortised O(1) per call."""

from __future__ import annotations

from collections import deque


class SlidingSum:
    """Sum of the amounts added during the last `window` seconds of a monotonic clock."""

    def __init__(self, window: float) -> None:
        self._window = window
        self._entries: deque[tuple[float, int]] = deque()
        self._sum = 0

    def add(self, now: float, amount: int = 1) -> None:
        if amount <= 0:
            return
        self._prune(now)
        self._entries.append((now, amount))
        self._sum += amount

    def total(self, now: float) -> int:
        self._prune(now)
        return self._sum

    def frees_in(self, now: float) -> float:
        """Seconds until the oldest amount leaves the window (0 when empty)."""
        self._prune(now)
        if not self._entries:
            return 0.0
        return max(0.0, self._entries[0][0] + self._window - now)

    def clear(self) -> None:
        self._entries.clear()
        self._sum = 0

    def _prune(self, now: float) -> None:
        horizon = now - self._window
        entries = self._entries
        while entries and entries[0][0] <= horizon:
            self._sum -= entries.popleft()[1]
