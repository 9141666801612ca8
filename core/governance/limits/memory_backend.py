"""The in-process sliding-window backend: exact within one process (no awaits between check and add, so the
event loop makes every step atomic). Used when no Redis is configured, and as the fallback while Redis is
unreachable (limits are then per replica)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from core.governance.limits.backend import AdmitResult, Amounts, KeyState, Rejection
from core.governance.limits.model import DIMENSIONS, NONE, SLOT_MS, WINDOW_SLOTS, Dimension

ZERO: Amounts = (0, 0, 0, 0)


class _Window:
    """One key: amounts per slot (dict in slot order, since slots are only ever appended at the current
    slot) and the running totals."""

    __slots__ = ("hi", "slots", "totals")

    def __init__(self) -> None:
        self.slots: dict[int, list[int]] = {}
        self.totals = [0, 0, 0, 0]
        self.hi = 0

    def prune(self, cutoff: int) -> None:
        slots = self.slots
        while slots:
            first = next(iter(slots))
            if first > cutoff:
                return
            amounts = slots.pop(first)
            for d in DIMENSIONS:
                self.totals[d] -= amounts[d]

    def add(self, slot: int, dim: int, amount: int) -> None:
        if amount == 0:
            return
        amounts = self.slots.get(slot)
        if amounts is None:
            amounts = self.slots[slot] = [0, 0, 0, 0]
        amounts[dim] += amount
        self.totals[dim] += amount
        if slot > self.hi:
            self.hi = slot

    def retry_after_ms(self, dim: int, need_free: int, now_ms: int) -> int:
        freed = 0
        for slot, amounts in self.slots.items():
            freed += amounts[dim]
            if freed >= need_free:
                return max(1, (slot + WINDOW_SLOTS) * SLOT_MS - now_ms)
        return WINDOW_SLOTS * SLOT_MS

    def state(self, now_ms: int) -> KeyState:
        used = (self.totals[0], self.totals[1], self.totals[2], self.totals[3])
        if not self.slots:
            return KeyState(used, 0)
        return KeyState(used, max(0, (self.hi + WINDOW_SLOTS) * SLOT_MS - now_ms))


class MemoryBackend:
    """`clock` returns seconds (monotonic by default); tests pass a fake one."""

    name = "in-process"

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.monotonic
        self._windows: dict[str, _Window] = {}
        self._last_sweep = 0

    def _now(self) -> tuple[int, int, int]:
        now_ms = int(self._clock() * 1000)
        slot = now_ms // SLOT_MS
        self._sweep(slot)
        return now_ms, slot, slot - WINDOW_SLOTS

    def _sweep(self, slot: int) -> None:
        """Forget keys idle for a whole window, once per window, so memory follows the active keys only."""
        if slot - self._last_sweep < WINDOW_SLOTS:
            return
        self._last_sweep = slot
        cutoff = slot - WINDOW_SLOTS
        for key in [k for k, w in self._windows.items() if w.hi <= cutoff]:
            del self._windows[key]

    def _window(self, key: str, cutoff: int) -> _Window:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window()
        else:
            window.prune(cutoff)
        return window

    def admit_now(
        self,
        keys: Sequence[str],
        limits: Sequence[Amounts],
        costs: Sequence[Amounts],
        needs: Sequence[Amounts] | None = None,
    ) -> AdmitResult:
        """The synchronous step (what `admit` awaits)."""
        now_ms, slot, cutoff = self._now()
        needs = costs if needs is None else needs
        windows = [self._window(key, cutoff) for key in keys]
        rejection: Rejection | None = None
        for index, window in enumerate(windows):
            for dim in DIMENSIONS:
                limit = limits[index][dim]
                if limit == NONE:
                    continue
                cost = costs[index][dim]
                need = needs[index][dim]
                if dim != Dimension.REQUESTS:
                    need = max(need, 1)
                if max(need, cost) > limit:
                    rejection = Rejection(index, dim, WINDOW_SLOTS * SLOT_MS, too_large=True)
                elif window.totals[dim] + need > limit:
                    retry = window.retry_after_ms(dim, window.totals[dim] + need - limit, now_ms)
                    rejection = Rejection(index, dim, retry, too_large=False)
                if rejection is not None:
                    break
            if rejection is not None:
                break
        if rejection is None:
            for index, window in enumerate(windows):
                for dim in DIMENSIONS:
                    window.add(slot, dim, costs[index][dim])
        return AdmitResult(slot, tuple(w.state(now_ms) for w in windows), rejection)

    async def admit(
        self,
        keys: Sequence[str],
        limits: Sequence[Amounts],
        costs: Sequence[Amounts],
        needs: Sequence[Amounts] | None = None,
    ) -> AdmitResult:
        return self.admit_now(keys, limits, costs, needs)

    def settle_now(
        self, keys: Sequence[str], slot: int, input_delta: int, output_tokens: int, reserved_output: int = 0
    ) -> None:
        _, now_slot, cutoff = self._now()
        corrections = (
            (Dimension.INPUT_TOKENS, input_delta),
            (Dimension.OUTPUT_TOKENS, -reserved_output),
            (Dimension.TOTAL_TOKENS, input_delta - reserved_output),
        )
        for key in keys:
            window = self._window(key, cutoff)
            if (input_delta or reserved_output) and slot > cutoff and slot in window.slots:
                amounts = window.slots[slot]
                for dim, delta in corrections:
                    window.add(slot, dim, max(delta, -amounts[dim]))
            if output_tokens > 0:
                window.add(now_slot, Dimension.OUTPUT_TOKENS, output_tokens)
                window.add(now_slot, Dimension.TOTAL_TOKENS, output_tokens)

    async def settle(
        self, keys: Sequence[str], slot: int, input_delta: int, output_tokens: int, reserved_output: int = 0
    ) -> None:
        self.settle_now(keys, slot, input_delta, output_tokens, reserved_output)

    async def usage(self, keys: Sequence[str]) -> list[KeyState]:
        now_ms, _, cutoff = self._now()
        states = []
        for key in keys:
            window = self._windows.get(key)
            if window is None:
                states.append(KeyState(ZERO, 0))
            else:
                window.prune(cutoff)
                states.append(window.state(now_ms))
        return states
