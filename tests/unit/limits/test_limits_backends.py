"""What every backend does (here the in-process one; tests/integration/governance/test_governance_redis_backend.py
runs these tests on Redis): a sliding 60-second window at 1-second resolution, atomic all-or-nothing admission
over several keys, retry-after, settlement, too-large requests."""

from __future__ import annotations

from core.governance.limits.backend import LimiterBackend
from core.governance.limits.model import NONE, REQUEST_UNITS, Dimension
from tests.unit.limits.conftest import FakeClock

U = REQUEST_UNITS
ONE_REQUEST = (U, 0, 0, 0)


def rpm(n: int) -> tuple[int, int, int, int]:
    return (n * U, NONE, NONE, NONE)


async def test_window_slides_instead_of_resetting_at_a_boundary(backend: LimiterBackend, clock: FakeClock) -> None:
    # 3 rpm: three requests at 59 s after a minute boundary would pass twice with a fixed window.
    clock.advance(59.5 - clock.now % 60)
    for _ in range(3):
        assert (await backend.admit(["k"], [rpm(3)], [ONE_REQUEST])).admitted
    clock.advance(1.0)  # past the next minute boundary
    rejected = await backend.admit(["k"], [rpm(3)], [ONE_REQUEST])
    assert not rejected.admitted
    assert rejected.rejection is not None and rejected.rejection.dimension == Dimension.REQUESTS
    # The three leave 60 s after their slot began: retry-after says when.
    assert 58_000 <= rejected.rejection.retry_after_ms <= 59_500
    clock.advance(rejected.rejection.retry_after_ms / 1000)
    assert (await backend.admit(["k"], [rpm(3)], [ONE_REQUEST])).admitted


async def test_rejection_counts_nothing_anywhere(backend: LimiterBackend) -> None:
    keys, limits = ["a", "b"], [rpm(10), rpm(1)]
    assert (await backend.admit(keys, limits, [ONE_REQUEST, ONE_REQUEST])).admitted
    result = await backend.admit(keys, limits, [ONE_REQUEST, ONE_REQUEST])
    assert result.rejection is not None and result.rejection.index == 1
    states = await backend.usage(keys)
    assert [s.used[Dimension.REQUESTS] for s in states] == [U, U]  # "a" was not charged for the rejected one


async def test_settle_corrects_the_reserved_input_and_adds_output(backend: LimiterBackend, clock: FakeClock) -> None:
    limits = [(NONE, 1000, 1000, NONE)]
    result = await backend.admit(["k"], limits, [(U, 300, 0, 300)])
    assert result.states[0].used == (U, 300, 0, 300)
    clock.advance(5)
    await backend.settle(["k"], result.slot, -200, 40)  # actually 100 input, 40 output
    [state] = await backend.usage(["k"])
    assert state.used == (U, 100, 40, 140)
    # The corrected input leaves with its original slot; the output 5 s later.
    clock.advance(55.5)
    [state] = await backend.usage(["k"])
    assert state.used == (0, 0, 40, 40)


async def test_settling_a_slot_that_left_the_window_changes_nothing(backend: LimiterBackend, clock: FakeClock) -> None:
    result = await backend.admit(["k"], [(NONE, 1000, NONE, NONE)], [(U, 300, 0, 300)])
    clock.advance(61)
    await backend.settle(["k"], result.slot, -300, 0)
    [state] = await backend.usage(["k"])
    assert state.used == (0, 0, 0, 0)


async def test_token_limits_need_room_and_too_large_requests_say_so(backend: LimiterBackend) -> None:
    limits = [(NONE, 100, 50, NONE)]
    assert (await backend.admit(["k"], limits, [(U, 60, 0, 60)])).admitted
    over = await backend.admit(["k"], limits, [(U, 60, 0, 60)])
    assert over.rejection is not None and over.rejection.dimension == Dimension.INPUT_TOKENS
    assert not over.rejection.too_large
    huge = await backend.admit(["k"], limits, [(U, 500, 0, 500)])
    assert huge.rejection is not None and huge.rejection.too_large
    # Output is unknown at admission: a full output window blocks the next request.
    await backend.settle(["k"], over.slot, 0, 50)
    blocked = await backend.admit(["k"], [(NONE, NONE, 50, NONE)], [(U, 1, 0, 1)])
    assert blocked.rejection is not None and blocked.rejection.dimension == Dimension.OUTPUT_TOKENS


async def test_reset_is_when_the_window_has_emptied(backend: LimiterBackend, clock: FakeClock) -> None:
    clock.advance(0.25 - clock.now % 1)
    first = await backend.admit(["k"], [rpm(5)], [ONE_REQUEST])
    assert first.states[0].reset_ms == 59_750
    clock.advance(10)
    second = await backend.admit(["k"], [rpm(5)], [ONE_REQUEST])
    assert second.states[0].reset_ms == 59_750  # the newest request decides
    [idle] = await backend.usage(["never-used"])
    assert idle.used == (0, 0, 0, 0) and idle.reset_ms == 0


async def test_unlimited_dimensions_are_still_counted(backend: LimiterBackend) -> None:
    for _ in range(3):
        assert (await backend.admit(["k"], [(NONE, NONE, NONE, NONE)], [(U, 7, 0, 7)])).admitted
    [state] = await backend.usage(["k"])
    assert state.used == (3 * U, 21, 0, 21)


async def test_output_reservations_are_admitted_below_the_limit_and_released_on_settlement(
    backend: LimiterBackend, clock: FakeClock
) -> None:
    # Output limit 50, each request reserving 20 output tokens (needing only room below the limit).
    limits = [(NONE, NONE, 50, NONE)]
    cost, need = (U, 3, 20, 23), (U, 3, 0, 3)
    admitted = [await backend.admit(["k"], limits, [cost], [need]) for _ in range(4)]
    assert [r.admitted for r in admitted] == [True, True, True, False]  # 0, 20, 40 < 50; then 60
    assert admitted[2].states[0].used[Dimension.OUTPUT_TOKENS] == 60
    assert admitted[3].rejection is not None and admitted[3].rejection.dimension == Dimension.OUTPUT_TOKENS
    # A reservation above the limit by itself is too large.
    huge = await backend.admit(["k2"], limits, [(U, 3, 51, 54)], [need])
    assert huge.rejection is not None and huge.rejection.too_large
    # Settling releases the reservation and counts the real output (now, in the current slot).
    clock.advance(1)
    await backend.settle(["k"], admitted[0].slot, 0, 13, 20)
    [state] = await backend.usage(["k"])
    assert state.used[Dimension.OUTPUT_TOKENS] == 53 and state.used[Dimension.TOTAL_TOKENS] == 9 + 53
