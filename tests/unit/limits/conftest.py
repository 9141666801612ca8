"""A fake clock and the in-process backend."""

from __future__ import annotations

import pytest

from core.governance.limits.backend import LimiterBackend
from core.governance.limits.memory_backend import MemoryBackend

START = 1_800_000_000.0  # seconds; any fixed point works


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def ms(self) -> int:
        return int(self.now * 1000)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(clock: FakeClock) -> LimiterBackend:
    """The in-process backend; tests/integration/governance/test_governance_redis_backend.py runs the same
    tests on the Redis backend."""
    return MemoryBackend(clock=clock)
