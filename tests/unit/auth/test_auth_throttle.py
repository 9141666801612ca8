"""Failed-authentication throttling per client address (core.auth.throttle), on a fake clock."""

from __future__ import annotations

import pytest

from core.auth.throttle import FailureThrottle
from core.errors import RateLimited
from tests.unit.auth.fake_clock import FakeClock


def throttle(clock: FakeClock, limit: int = 3, max_addresses: int = 100) -> FailureThrottle:
    return FailureThrottle(limit=limit, window=60, block=30, max_addresses=max_addresses, clock=clock)


def test_blocks_an_address_after_the_limit_for_the_block_time() -> None:
    clock = FakeClock()
    t = throttle(clock)
    for _ in range(3):
        t.check("1.1.1.1")
        t.failed("1.1.1.1")
    with pytest.raises(RateLimited) as raised:
        t.check("1.1.1.1")
    assert raised.value.retry_after == 30
    t.check("2.2.2.2")  # another address is unaffected
    clock.advance(30)
    t.check("1.1.1.1")  # the block is over, and so is the count


def test_failures_spread_over_more_than_a_window_do_not_add_up() -> None:
    clock = FakeClock()
    t = throttle(clock)
    for _ in range(5):
        t.failed("1.1.1.1")
        t.failed("1.1.1.1")
        clock.advance(61)  # two failures per window, under the limit of three
    t.check("1.1.1.1")


def test_zero_turns_it_off_and_memory_is_bounded() -> None:
    clock = FakeClock()
    off = throttle(clock, limit=0)
    for _ in range(10):
        off.failed("1.1.1.1")
    off.check("1.1.1.1")
    bounded = throttle(clock, limit=1, max_addresses=2)
    for addr in ("a", "b", "c"):
        bounded.failed(addr)
    bounded.check("a")  # forgotten: the oldest address made room
    with pytest.raises(RateLimited):
        bounded.check("c")
