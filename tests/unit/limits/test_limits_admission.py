"""Admission end to end on the in-process backend: headers, the 429 (message naming limit and level,
retry-after, x-ratelimit-* metadata), settlement, multipliers, and rejected requests counting nowhere."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from core.auth.principal import Principal, Role
from core.errors import RateLimited
from core.governance.limits.admission import Admission
from core.governance.limits.backend import AdmitResult, Amounts
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.headers import format_duration
from core.governance.limits.memory_backend import MemoryBackend
from core.governance.limits.model import LimitValues, ScopeKind
from core.governance.limits.plan import ModelLimit
from core.governance.limits.snapshot import RefreshingSnapshot
from core.governance.limits.store import LimitTable
from tests.unit.limits.conftest import FakeClock

PERSON = Principal(
    role=Role.USER, token_id="tok", user_id="u1", user_email="ann@acme.test", org_id="o1", org_name="acme"
)


async def _load() -> LimitTable:
    return LimitTable()


def admission(
    clock: FakeClock, rows: dict[tuple[ScopeKind, str, bool], LimitValues], **models: ModelLimit
) -> Admission:
    snapshot: RefreshingSnapshot[LimitTable] = RefreshingSnapshot("limits", _load, LimitTable(rows), ttl=60)
    limiter = FailoverLimiter(MemoryBackend(clock=clock), None, retry_interval=1)
    return Admission(limiter, snapshot, models)


async def test_unlimited_callers_pay_nothing(clock: FakeClock) -> None:
    reservation = await admission(clock, {}).admit(PERSON, "gpt", 10)
    assert reservation.headers == {}
    reservation.settle(10, 10)


async def test_success_carries_openai_headers(clock: FakeClock) -> None:
    adm = admission(clock, {(ScopeKind.ORG, "o1", False): LimitValues(rpm=5, input_tpm=1000)})
    reservation = await adm.admit(PERSON, "gpt", 100)
    assert reservation.headers == {
        "x-ratelimit-limit-requests": "5",
        "x-ratelimit-remaining-requests": "4",
        "x-ratelimit-reset-requests": format_duration(reservation_reset(clock)),
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "900",
        "x-ratelimit-reset-tokens": format_duration(reservation_reset(clock)),
    }


def reservation_reset(clock: FakeClock) -> int:
    return 60_000 - int(clock.now * 1000) % 1000


async def test_429_names_the_limit_and_level_and_counts_nothing(clock: FakeClock) -> None:
    adm = admission(
        clock,
        {(ScopeKind.ORG, "o1", False): LimitValues(rpm=2), (ScopeKind.ORG, "o1", True): LimitValues(rpm=100)},
    )
    for _ in range(2):
        await adm.admit(PERSON, "gpt", 1)
    with pytest.raises(RateLimited) as caught:
        await adm.admit(PERSON, "gpt", 1)
    error = caught.value
    assert "requests per minute" in error.message and "member level" in error.message
    assert "org acme's per-member limit" in error.message and "user ann@acme.test" in error.message
    assert error.retry_after is not None and 0 < error.retry_after <= 60
    assert error.metadata["x-ratelimit-remaining-requests"] == "0"
    assert error.metadata["x-ratelimit-limit-requests"] == "2"
    assert error.metadata["limit_level"] == "member"
    # The org pool saw the two admitted requests only.
    [pool] = await adm.limiter.usage(["o:o1"])
    assert pool.used[0] == 2_000_000


async def test_failed_upstream_calls_count_and_settlement_corrects_tokens(clock: FakeClock) -> None:
    adm = admission(clock, {(ScopeKind.USER, "u1", False): LimitValues(rpm=10, input_tpm=1000, output_tpm=100)})
    failed = await adm.admit(PERSON, "gpt", 300)
    failed.settle(0, 0)  # the upstream failed: no tokens, but the request stays counted
    ok = await adm.admit(PERSON, "gpt", 300)
    ok.settle(250, 60)
    ok.settle(999, 999)  # idempotent
    [member] = await adm.limiter.usage(["m:u:u1"])
    assert member.used == (2_000_000, 250, 60, 310)


async def test_a_multiplier_of_two_makes_a_request_count_half(clock: FakeClock) -> None:
    adm = admission(clock, {(ScopeKind.USER, "u1", False): LimitValues(rpm=3)}, big=ModelLimit(request_multiplier=2))
    admitted = 0
    for _ in range(10):
        try:
            await adm.admit(PERSON, "big", 0)
            admitted += 1
        except RateLimited:
            break
    assert admitted == 6


async def test_model_capacity_is_shared_by_everyone(clock: FakeClock) -> None:
    adm = admission(clock, {}, gpt=ModelLimit(rpm=1))
    other = Principal(role=Role.USER, token_id="t2", user_id="u2", user_email="bob@x.test", org_id="o2")
    await adm.admit(PERSON, "gpt", 0)
    with pytest.raises(RateLimited) as caught:
        await adm.admit(other, "gpt", 0)
    assert caught.value.metadata["limit_level"] == "model"
    assert "model gpt" in caught.value.message


async def test_too_large_requests_are_told_so(clock: FakeClock) -> None:
    adm = admission(clock, {(ScopeKind.TOKEN, "tok", False): LimitValues(input_tpm=100)})
    with pytest.raises(RateLimited) as caught:
        await adm.admit(PERSON, "gpt", 5000)
    assert caught.value.message.startswith("Request too large")
    assert caught.value.metadata["limit_level"] == "token"


def test_durations_look_like_openais() -> None:
    assert format_duration(20) == "20ms"
    assert format_duration(1000) == "1s"
    assert format_duration(6500) == "6.5s"
    assert format_duration(60_000) == "1m0s"
    assert format_duration(61_250) == "1m1.25s"


class RecordingRedis:
    """Stands in for RedisBackend (any backend but the in-process one settles in the background)."""

    name = "redis"

    def __init__(self, clock: FakeClock) -> None:
        self.inner = MemoryBackend(clock=clock)
        self.settlements: list[tuple[tuple[str, ...], int, int]] = []

    async def admit(
        self,
        keys: Sequence[str],
        limits: Sequence[Amounts],
        costs: Sequence[Amounts],
        needs: Sequence[Amounts] | None = None,
    ) -> AdmitResult:
        return await self.inner.admit(keys, limits, costs, needs)

    async def settle(
        self, keys: Sequence[str], slot: int, input_delta: int, output_tokens: int, reserved_output: int = 0
    ) -> None:
        self.settlements.append((tuple(keys), input_delta, output_tokens))
        await self.inner.settle(keys, slot, input_delta, output_tokens, reserved_output)


async def test_settlements_of_a_burst_reach_redis_summed_in_one_call(clock: FakeClock) -> None:
    redis = RecordingRedis(clock)
    rows = {(ScopeKind.ORG, "o1", False): LimitValues(rpm=100, input_tpm=10_000, output_tpm=10_000)}
    snapshot: RefreshingSnapshot[LimitTable] = RefreshingSnapshot("limits", _load, LimitTable(rows), ttl=60)
    limiter = FailoverLimiter(MemoryBackend(clock=clock), redis, retry_interval=1)  # type: ignore[arg-type]
    adm = Admission(limiter, snapshot, {}, settle_interval=0.05)
    reservations = [await adm.admit(PERSON, "gpt", 100) for _ in range(5)]
    for reservation in reservations:
        reservation.settle(80, 30)  # 20 input tokens fewer than reserved, 30 output each
    assert redis.settlements == []  # waiting for the interval
    await adm.drain()
    assert len(redis.settlements) == 1
    _, input_delta, output_tokens = redis.settlements[0]
    assert (input_delta, output_tokens) == (-100, 150)
    state = (await redis.inner.usage(list(redis.settlements[0][0])))[0]
    assert state.used[1:3] == (400, 150)  # 5 x 80 input, 5 x 30 output
