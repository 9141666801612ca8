"""usage-based-routing-v2: the deployment with the most rpm / tpm headroom in the current minute, counted in
the rate limiter's windows (here the in-process backend; the Redis one is covered by the two-replica
integration test)."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from core.errors import RateLimited
from core.governance.limits.deployment_counters import LimiterCounters, deployment_key
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.memory_backend import MemoryBackend
from core.routing import Router, RouterSettings
from core.routing.usage_routing import MinuteUsage, headroom
from tests.unit.routing.routing_fakes import Script, entry, registry_of, route_once


def limiter() -> FailoverLimiter:
    return FailoverLimiter(MemoryBackend(), None, retry_interval=1.0)


def router_of(*entries: dict[str, Any], shared: FailoverLimiter | None = None) -> Router:
    registry = registry_of(*entries)
    settings = RouterSettings(routing_strategy="usage-based-routing-v2", retry_backoff_seconds=0)
    return Router(registry, settings, rng=random.Random(2), counters=LimiterCounters(shared or limiter()))


def test_headroom_is_the_smallest_remaining_share() -> None:
    d = registry_of(entry("m", "a", rpm=10, tpm=1000)).deployments[0]
    assert headroom(d, MinuteUsage(requests=5, tokens=100)) == pytest.approx(0.5)
    assert headroom(d, MinuteUsage(requests=1, tokens=900)) == pytest.approx(0.1)
    unlimited = registry_of(entry("m", "b")).deployments[0]
    assert headroom(unlimited, MinuteUsage(requests=10**6, tokens=10**9)) == 1.0


async def test_requests_go_where_most_headroom_is_left() -> None:
    router = router_of(entry("m", "small", rpm=10), entry("m", "big", rpm=30))
    served = Counter([(await route_once(router, "m", Script()))[1] for _ in range(20)])
    # Shares left stay level: big takes three requests for each of small's.
    assert served == {"big": 15, "small": 5}


async def test_tokens_counted_after_the_request_steer_the_next_one() -> None:
    shared = limiter()
    router = router_of(entry("m", "a", tpm=1000), entry("m", "b", tpm=1000), shared=shared)
    group = router.registry.resolve("m")
    async with router.route(group, "chat", Script(), request_id="r", tokens_used=lambda: 600) as routed:
        first = routed.deployment
    (state,) = await shared.usage([deployment_key(first)])
    assert state.used[3] == 600
    _, second = await route_once(router, "m", Script())
    assert second != first.upstream_model


async def test_two_routers_on_one_limiter_share_the_counts() -> None:
    """Two replicas on the same counters (Redis in production) spread load together."""
    shared = limiter()
    entries = (entry("m", "a", rpm=100), entry("m", "b", rpm=100))
    one, two = router_of(*entries, shared=shared), router_of(*entries, shared=shared)
    served = [(await route_once(r, "m", Script()))[1] for r in (one, two, one, two, one, two)]
    assert Counter(served) == {"a": 3, "b": 3}
    assert all(served[i] != served[i + 1] for i in range(0, 6, 2))


async def test_every_deployment_out_of_headroom_is_a_429() -> None:
    """Each replica has only seen one request, to one deployment; the shared counts know both are used up."""
    shared = limiter()
    entries = (entry("m", "a", rpm=1), entry("m", "b", rpm=1))
    one, two = router_of(*entries, shared=shared), router_of(*entries, shared=shared)
    await route_once(one, "m", Script())
    await route_once(two, "m", Script())
    with pytest.raises(RateLimited, match="used its rpm / tpm for this minute"):
        await route_once(one, "m", Script())


def test_the_strategy_needs_counters() -> None:
    with pytest.raises(ValueError, match="needs the deployment counters"):
        Router(registry_of(entry("m", "a")), RouterSettings(routing_strategy="usage-based-routing-v2"))
