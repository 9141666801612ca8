"""The token cache: TTL, negative cache, single flight, invalidation and bounds, on a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from core.auth.principal import Principal, Role
from core.auth.token_cache import TokenCache, TokenRecord
from tests.unit.auth.fake_clock import FakeClock

RECORD = TokenRecord(Principal(role=Role.USER, user_id="u1", token_id="t1"), expires_at=None)


class Loader:
    def __init__(self, known: dict[str, TokenRecord] | None = None) -> None:
        self.known = dict(known or {})
        self.calls: list[str] = []
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None

    async def __call__(self, secret_hash: str) -> TokenRecord | None:
        self.calls.append(secret_hash)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return self.known.get(secret_hash)


def make(loader: Loader, clock: FakeClock, max_entries: int = 100) -> TokenCache:
    return TokenCache(loader, ttl=3.0, negative_ttl=1.0, max_entries=max_entries, clock=clock)


async def test_hit_within_ttl_costs_no_load_and_expires_after() -> None:
    clock, loader = FakeClock(), Loader({"h": RECORD})
    cache = make(loader, clock)
    assert await cache.get("h") is RECORD
    clock.advance(2.9)
    assert await cache.get("h") is RECORD
    assert loader.calls == ["h"]
    clock.advance(0.2)  # 3.1 s after the load: stale
    loader.known.clear()  # deleted meanwhile on another replica
    assert await cache.get("h") is None
    assert loader.calls == ["h", "h"]


async def test_negative_entries_live_negative_ttl() -> None:
    clock, loader = FakeClock(), Loader()
    cache = make(loader, clock)
    assert await cache.get("nope") is None
    assert await cache.get("nope") is None
    assert len(loader.calls) == 1
    clock.advance(1.1)
    loader.known["nope"] = RECORD  # created meanwhile
    assert await cache.get("nope") is RECORD
    assert len(loader.calls) == 2


async def test_concurrent_misses_share_one_load() -> None:
    clock, loader = FakeClock(), Loader({"h": RECORD})
    loader.gate = asyncio.Event()
    cache = make(loader, clock)
    waiters = [asyncio.create_task(cache.get("h")) for _ in range(20)]
    await asyncio.sleep(0)
    loader.gate.set()
    assert await asyncio.gather(*waiters) == [RECORD] * 20
    assert loader.calls == ["h"]


async def test_a_cancelled_waiter_does_not_cancel_the_shared_load() -> None:
    clock, loader = FakeClock(), Loader({"h": RECORD})
    loader.gate = asyncio.Event()
    cache = make(loader, clock)
    first = asyncio.create_task(cache.get("h"))
    second = asyncio.create_task(cache.get("h"))
    await asyncio.sleep(0)
    first.cancel()
    loader.gate.set()
    assert await second is RECORD
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_load_failure_reaches_every_waiter_and_is_not_cached() -> None:
    clock, loader = FakeClock(), Loader({"h": RECORD})
    loader.gate, loader.fail = asyncio.Event(), RuntimeError("db down")
    cache = make(loader, clock)
    waiters = [asyncio.create_task(cache.get("h")) for _ in range(3)]
    await asyncio.sleep(0)
    loader.gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    loader.fail = None
    assert await cache.get("h") is RECORD
    assert len(loader.calls) == 2


async def test_invalidate_forgets_at_once() -> None:
    clock, loader = FakeClock(), Loader({"h": RECORD})
    cache = make(loader, clock)
    await cache.get("h")
    loader.known.clear()
    cache.invalidate("h")
    assert await cache.get("h") is None


async def test_a_load_in_flight_during_invalidate_is_not_cached() -> None:
    clock, loader = FakeClock(), Loader({"h": RECORD})
    loader.gate = asyncio.Event()
    cache = make(loader, clock)
    waiter = asyncio.create_task(cache.get("h"))
    await asyncio.sleep(0)
    cache.invalidate("h")  # e.g. the token was deleted while its old row was being read
    loader.gate.set()
    assert await waiter is RECORD
    loader.known.clear()
    assert await cache.get("h") is None  # reloaded, not served from a stale entry


async def test_size_is_bounded_least_recently_used_first() -> None:
    clock = FakeClock()
    loader = Loader({f"h{i}": RECORD for i in range(10)})
    cache = make(loader, clock, max_entries=3)
    for i in range(5):
        await cache.get(f"h{i}")
    for i in range(20):
        await cache.get(f"garbage{i}")  # negative entries have their own bound
    assert len(cache) == 6
    calls = len(loader.calls)
    await cache.get("h4")
    assert len(loader.calls) == calls  # recent: still cached
    await cache.get("h0")
    assert len(loader.calls) == calls + 1  # evicted


async def test_expiry_is_kept_with_the_entry() -> None:
    expiring = TokenRecord(RECORD.principal, expires_at=datetime(2030, 1, 1, 0, 1, tzinfo=UTC))
    cache = make(Loader({"h": expiring}), FakeClock())
    assert (await cache.get("h")) == expiring
