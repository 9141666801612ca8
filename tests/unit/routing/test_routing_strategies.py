"""The three routing strategies: weighted split, least-busy, and latency-based with exploration."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from core.routing import LeastBusy, LowestLatency, RouterSettings, build_selector
from core.routing.health import HealthBoard
from tests.support.waiting import async_wait_until
from tests.unit.routing.routing_fakes import FakeClock, Script, entry, make_router, registry_of, route_once


async def test_simple_shuffle_splits_traffic_by_weight_within_tolerance() -> None:
    registry = registry_of(entry("m", "a", weight=1), entry("m", "b", weight=2), entry("m", "c", weight=1))
    router = make_router(registry, seed=3)
    script = Script()
    served = Counter([(await route_once(router, "m", script))[1] for _ in range(2000)])
    assert abs(served["b"] / 2000 - 0.5) < 0.05
    assert abs(served["a"] / 2000 - 0.25) < 0.05 and abs(served["c"] / 2000 - 0.25) < 0.05


async def test_least_busy_picks_the_deployment_with_fewest_in_flight_requests() -> None:
    registry = registry_of(entry("m", "a"), entry("m", "b"), entry("m", "c"))
    router = make_router(registry, routing_strategy="least-busy")
    assert isinstance(router.selector, LeastBusy)
    gates = {name: asyncio.Event() for name in "abc"}
    script = Script("ok", a=[gates["a"]], b=[gates["b"]], c=[gates["c"]])
    held = [asyncio.create_task(route_once(router, "m", script)) for _ in range(3)]
    await async_wait_until(lambda: len(script.calls) == 3, what="three requests at upstreams")
    # Three concurrent requests went to three different deployments.
    assert sorted(script.calls) == ["a", "b", "c"]
    gates["a"].set()
    await asyncio.wait(held, timeout=1, return_when=asyncio.FIRST_COMPLETED)
    # `a` is now idle while b and c each hold one request: the next request goes to `a`.
    assert (await route_once(router, "m", script))[1] == "a"
    for gate in gates.values():
        gate.set()
    await asyncio.gather(*held)


def _latency_board(clock: FakeClock, **settings: float) -> tuple[HealthBoard, LowestLatency]:
    registry = registry_of(entry("m", "fast"), entry("m", "slow"), entry("m", "new"))
    config = RouterSettings(routing_strategy="latency-based-routing", **settings)
    board = HealthBoard(registry.deployments, config, clock)
    selector = build_selector("latency-based-routing", board, config, random.Random(5))
    assert isinstance(selector, LowestLatency)
    return board, selector


def test_latency_based_routing_prefers_the_fastest_and_measures_unmeasured_ones_first() -> None:
    clock = FakeClock()
    board, selector = _latency_board(clock, latency_exploration=0.0)
    deployments = board.deployments
    fast, slow, new = deployments
    board.get(fast).record_latency(clock(), 0.05)
    board.get(slow).record_latency(clock(), 0.5)
    assert selector.order(deployments)[0] is new
    board.get(new).record_latency(clock(), 0.2)
    assert [d.upstream_model for d in selector.order(deployments)] == ["fast", "new", "slow"]


def test_latency_based_routing_explores_so_a_recovered_deployment_gets_traffic_again() -> None:
    clock = FakeClock()
    board, selector = _latency_board(clock, latency_exploration=0.2, latency_stale_seconds=60)
    fast, slow, new = board.deployments
    for d, seconds in ((fast, 0.05), (slow, 2.0), (new, 0.1)):
        board.get(d).record_latency(clock(), seconds)
    firsts = Counter(selector.order([fast, slow, new])[0].upstream_model for _ in range(3000))
    # Mostly the fastest, but the slow one is still measured now and then (about 0.2 / 3 of the time).
    assert firsts["fast"] > 2000 and 100 < firsts["slow"] < 400
    # Once its sample is stale it counts as unmeasured and is tried first, so recovery is seen.
    clock.advance(61)
    board.get(fast).record_latency(clock(), 0.05)
    board.get(new).record_latency(clock(), 0.1)
    no_explore = LowestLatency(board, RouterSettings(latency_exploration=0.0), random.Random(1))
    assert no_explore.order([fast, slow, new])[0] is slow


def test_latency_is_an_exponentially_weighted_average() -> None:
    clock = FakeClock()
    board, _ = _latency_board(clock, latency_ewma_alpha=0.5)
    health = board.get(board.deployments[0])
    health.record_latency(clock(), 0.1)
    health.record_latency(clock(), 0.3)
    assert health.latency(clock()) == 200.0
