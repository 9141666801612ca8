"""The router's attempt loop without sockets: retries, no-retry statuses, backoff and retry-after, cooldown
and recovery, capacity, fallbacks and context-window fallbacks, and in-flight bookkeeping."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from core.errors import RateLimited, UpstreamError, UpstreamUnavailable
from tests.support.waiting import async_wait_until
from tests.unit.routing.routing_fakes import (
    FakeClock,
    Script,
    entry,
    http,
    make_router,
    registry_of,
    reset,
    route_once,
    timeout,
)

PAIR = (entry("m", "a"), entry("m", "b"))


@pytest.mark.parametrize("failure", [http(500), http(502), http(503), http(429), http(408), reset(), timeout()])
async def test_a_failing_deployment_is_hidden_by_a_retry_on_another(failure: Exception) -> None:
    router = make_router(registry_of(*PAIR))
    script = Script().always("a", failure)
    for _ in range(20):
        value, served = await route_once(router, "m", script)
        assert (value, served) == ("ok:b", "b")
    # Whenever `a` was picked first, the retry went to `b` at once.
    assert script.calls.count("b") == 20


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_caller_and_operator_errors_are_never_retried(status: int) -> None:
    router = make_router(registry_of(*PAIR))
    script = Script(http(status))
    with pytest.raises(UpstreamError) as info:
        await route_once(router, "m", script)
    assert info.value.upstream_status == status
    assert len(script.calls) == 1


async def test_num_retries_bounds_the_attempts_and_the_last_error_is_reported() -> None:
    router = make_router(registry_of(entry("m", "a")), num_retries=3)
    script = Script(http(503, "down"))
    with pytest.raises(UpstreamError, match="down"):
        await route_once(router, "m", script)
    assert script.calls == ["a"] * 4


async def test_retrying_the_same_deployment_backs_off_exponentially() -> None:
    router = make_router(registry_of(entry("m", "a")), num_retries=2, retry_backoff_seconds=0.04)
    script = Script("ok", a=[http(500), http(500)])
    started = time.monotonic()
    assert await route_once(router, "m", script) == ("ok:a", "a")
    # Equal jitter: at least half of each step (0.04 then 0.08) is always waited.
    assert time.monotonic() - started >= 0.02 + 0.04


async def test_a_short_retry_after_is_waited_for() -> None:
    router = make_router(registry_of(entry("m", "a")), max_retry_after_seconds=1)
    script = Script("ok", a=[http(429, retry_after=0.15)])
    started = time.monotonic()
    assert await route_once(router, "m", script) == ("ok:a", "a")
    assert time.monotonic() - started >= 0.15


async def test_a_long_retry_after_moves_on_and_cools_the_deployment_down() -> None:
    clock = FakeClock()
    router = make_router(registry_of(*PAIR), clock, max_retry_after_seconds=1, cooldown_time=30)
    script = Script().always("a", http(429, retry_after=10))
    results = {await route_once(router, "m", script) for _ in range(10)}
    assert results == {("ok:b", "b")}
    assert script.calls.count("a") == 1  # cooling down after its 429, so never asked again
    health = router.board.get(router.registry.resolve("m").deployments[0])
    assert health.cooling(clock()) and health.cooldown_until == pytest.approx(clock() + 10)


async def test_a_long_retry_after_on_the_only_deployment_is_returned_to_the_caller() -> None:
    router = make_router(registry_of(entry("m", "a")), max_retry_after_seconds=1)
    script = Script(http(429, retry_after=20))
    with pytest.raises(UpstreamError) as info:
        await route_once(router, "m", script)
    assert info.value.retry_after == 20 and script.calls == ["a"]


async def test_allowed_fails_within_the_window_start_a_cooldown_then_the_deployment_recovers() -> None:
    clock = FakeClock()
    router = make_router(registry_of(*PAIR), clock, allowed_fails=3, cooldown_time=30, num_retries=0)
    a = router.registry.resolve("m").deployments[0]
    script = Script().always("a", http(500))
    for _ in range(40):
        with contextlib.suppress(UpstreamError):
            await route_once(router, "m", script)
        if router.board.get(a).cooling(clock()):
            break
    assert script.calls.count("a") == 3
    before = len(script.calls)
    for _ in range(10):
        assert await route_once(router, "m", script) == ("ok:b", "b")
    assert "a" not in script.calls[before:]
    clock.advance(30.1)
    script.defaults.pop("a")
    served = {(await route_once(router, "m", script))[1] for _ in range(30)}
    assert served == {"a", "b"}


async def test_failures_spread_over_more_than_the_window_do_not_cool_down() -> None:
    clock = FakeClock()
    router = make_router(registry_of(*PAIR), clock, allowed_fails=2, failure_window_seconds=60)
    health = router.board.get(router.registry.resolve("m").deployments[0])
    health.record_failure(clock(), "x")
    clock.advance(61)
    health.record_failure(clock(), "x")
    assert not health.cooling(clock())
    health.record_failure(clock(), "x")
    assert health.cooling(clock())


async def test_the_only_deployment_of_a_model_never_cools_down() -> None:
    clock = FakeClock()
    router = make_router(registry_of(entry("m", "a")), clock, allowed_fails=1, num_retries=0)
    script = Script("ok", a=[http(500), http(500)])
    for _ in range(2):
        with pytest.raises(UpstreamError):
            await route_once(router, "m", script)
    assert await route_once(router, "m", script) == ("ok:a", "a")


async def test_every_deployment_cooling_down_is_a_503_with_retry_after() -> None:
    clock = FakeClock()
    router = make_router(registry_of(*PAIR), clock, cooldown_time=30)
    for d in router.registry.resolve("m").deployments:
        router.board.get(d).cool_down(clock(), 30, "test")
    clock.advance(10)
    with pytest.raises(UpstreamUnavailable) as info:
        await route_once(router, "m", Script())
    assert info.value.retry_after == pytest.approx(20)


async def test_rpm_capacity_skips_a_full_deployment_and_a_full_group_is_a_429() -> None:
    clock = FakeClock()
    router = make_router(registry_of(entry("m", "a", rpm=2), entry("m", "b", rpm=3)), clock)
    script = Script()
    served = [(await route_once(router, "m", script))[1] for _ in range(5)]
    assert sorted(served) == ["a", "a", "b", "b", "b"]
    with pytest.raises(RateLimited) as info:
        await route_once(router, "m", script)
    # The window counts per second, so a request frees its slot within 60-61 s.
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 61
    clock.advance(61)
    assert (await route_once(router, "m", script))[0].startswith("ok")


async def test_tpm_capacity_counts_the_tokens_reported_on_exit() -> None:
    clock = FakeClock()
    router = make_router(registry_of(entry("m", "a", tpm=100), entry("m", "b")), clock)
    group = router.registry.resolve("m")
    a = group.deployments[0]
    script = Script()
    async with router.route(group, "chat", script, request_id="r", tokens_used=lambda: 150) as routed:
        first = routed.deployment
    assert router.board.get(first).status(clock(), 0).tokens_last_minute == 150
    if first == a:
        served = {(await route_once(router, "m", script))[1] for _ in range(10)}
        assert served == {"b"}


async def test_max_parallel_requests_bounds_concurrency_per_deployment() -> None:
    router = make_router(registry_of(entry("m", "a", max_parallel_requests=1), entry("m", "b")))
    gate = asyncio.Event()
    script = Script("ok", a=[gate], b=[gate])
    first = asyncio.create_task(route_once(router, "m", script))
    second = asyncio.create_task(route_once(router, "m", script))
    await async_wait_until(lambda: len(script.calls) == 2, what="both requests at an upstream")
    a = router.registry.resolve("m").deployments[0]
    assert router.board.get(a).in_flight <= 1
    gate.set()
    results = {(await first)[1], (await second)[1]}
    assert "b" in results


async def test_fallback_to_another_model_when_every_deployment_fails() -> None:
    registry = registry_of(entry("m", "a"), entry("backup", "z"))
    router = make_router(registry, fallbacks=[{"m": ["backup"]}])
    script = Script().always("a", http(503))
    assert await route_once(router, "m", script) == ("ok:z", "z")
    assert script.calls == ["a", "a", "a", "z"]


async def test_fallbacks_skip_models_excluded_for_the_caller() -> None:
    registry = registry_of(entry("m", "a"), entry("secret", "s"), entry("backup", "z"))
    router = make_router(registry, fallbacks=[{"m": ["secret", "backup"]}], num_retries=0)
    script = Script().always("a", http(503))
    group = router.registry.resolve("m")
    async with router.route(group, "chat", script, request_id="r", excluded_models=frozenset({"secret"})) as routed:
        assert routed.deployment.upstream_model == "z"
    assert "s" not in script.calls


async def test_no_fallback_left_after_exclusions_raises_the_original_error() -> None:
    router = make_router(registry_of(entry("m", "a"), entry("secret", "s")), fallbacks=[{"m": ["secret"]}])
    script = Script().always("a", http(503))
    with pytest.raises(UpstreamError):
        async with router.route(
            router.registry.resolve("m"), "chat", script, request_id="r", excluded_models=frozenset({"secret"})
        ):
            pass
    assert "s" not in script.calls


async def test_default_fallbacks_apply_to_models_without_their_own() -> None:
    registry = registry_of(entry("m", "a"), entry("backup", "z"), entry("embed", "e", mode="embedding"))
    router = make_router(registry, default_fallbacks="backup", num_retries=0)
    script = Script().always("a", reset())
    assert await route_once(router, "m", script) == ("ok:z", "z")


async def test_no_fallback_for_a_caller_error() -> None:
    router = make_router(registry_of(entry("m", "a"), entry("backup", "z")), fallbacks=[{"m": ["backup"]}])
    script = Script().always("a", http(400, "bad temperature"))
    with pytest.raises(UpstreamError, match="bad temperature"):
        await route_once(router, "m", script)
    assert script.calls == ["a"]


@pytest.mark.parametrize(
    "error",
    [
        http(400, "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens."),
        http(400, "too long", upstream_code="context_length_exceeded"),
    ],
)
async def test_context_window_errors_use_the_context_window_fallbacks(error: UpstreamError) -> None:
    registry = registry_of(entry("small", "s"), entry("big", "l"), entry("other", "o"))
    router = make_router(registry, context_window_fallbacks=[{"small": ["big"]}], fallbacks=[{"small": ["other"]}])
    script = Script().always("s", error)
    assert await route_once(router, "small", script) == ("ok:l", "l")
    assert script.calls == ["s", "l"]


async def test_fallbacks_that_cannot_serve_the_endpoint_are_skipped() -> None:
    registry = registry_of(entry("m", "a"), entry("embed", "e", mode="embedding"), entry("backup", "z"))
    router = make_router(registry, fallbacks=[{"m": ["embed", "backup"]}], num_retries=0)
    script = Script().always("a", http(500))
    assert await route_once(router, "m", script) == ("ok:z", "z")
    assert "e" not in script.calls


async def test_a_failure_inside_the_block_counts_against_the_deployment_but_is_not_retried() -> None:
    clock = FakeClock()
    router = make_router(registry_of(*PAIR), clock)
    group = router.registry.resolve("m")
    script = Script()
    with pytest.raises(UpstreamError):
        async with router.route(group, "chat", script, request_id="r") as routed:
            raise http(502, "stream broke")
    health = router.board.get(routed.deployment)
    status = health.status(clock(), 0)
    assert (status.in_flight, status.failures_last_minute, len(script.calls)) == (0, 1, 1)


async def test_cancellation_releases_the_in_flight_slot() -> None:
    router = make_router(registry_of(*PAIR))
    script = Script("ok", a=[asyncio.Event()], b=[asyncio.Event()])
    task = asyncio.create_task(route_once(router, "m", script))
    await async_wait_until(lambda: script.calls, what="the request at an upstream")
    group = router.registry.resolve("m")
    assert sum(router.board.get(d).in_flight for d in group.deployments) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sum(router.board.get(d).in_flight for d in group.deployments) == 0
    statuses = router.board.statuses(group.deployments)
    assert sum(s.failures_last_minute for s in statuses) == 0
