"""What a rate-limit backend does, in the terms both implementations share (in-process and Redis).

A backend keeps, per key, the amounts of every Dimension per window slot. `admit` checks every key and
dimension at once and, only if all have room, adds the costs to all of them: one atomic step, so N
concurrent requests against a limit of L admit exactly L. `settle` corrects the reservation once usage is
known. All amounts are integers (requests in REQUEST_UNITS).

What must have room (`needs`) can be less than what is added (`costs`): an output-token reservation is an
upper bound (the request's max_tokens), so it is admitted while the window is below the limit and then
counted whole; a cost above the limit by itself is "too large" either way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

Amounts = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class KeyState:
    """One key after the step: what is counted in the window per dimension, and how long until all of it
    has left the window (ms; 0 when empty)."""

    used: Amounts
    reset_ms: int


@dataclass(frozen=True, slots=True)
class Rejection:
    """The first check (index into the keys) and dimension without room."""

    index: int
    dimension: int
    retry_after_ms: int
    too_large: bool  # the request alone exceeds the limit: waiting cannot help


@dataclass(frozen=True, slots=True)
class AdmitResult:
    slot: int  # the window slot the reservation was counted in
    states: tuple[KeyState, ...]
    rejection: Rejection | None

    @property
    def admitted(self) -> bool:
        return self.rejection is None


class LimiterBackend(Protocol):
    name: str

    async def admit(
        self,
        keys: Sequence[str],
        limits: Sequence[Amounts],
        costs: Sequence[Amounts],
        needs: Sequence[Amounts] | None = None,
    ) -> AdmitResult:
        """Atomically: if every limited dimension of every key has room for its need (the cost when None;
        token needs count at least 1) and no cost exceeds its limit, add every cost; report the states."""
        ...

    async def settle(
        self, keys: Sequence[str], slot: int, input_delta: int, output_tokens: int, reserved_output: int = 0
    ) -> None:
        """Correct the reservation made in `slot`: input by `input_delta` (input and total dimensions), the
        `reserved_output` tokens released (output and total); then add the real output tokens now (output and
        total). A slot that already left the window is not corrected."""
        ...

    async def usage(self, keys: Sequence[str]) -> list[KeyState]:
        """The current window of each key, without changing it."""
        ...
