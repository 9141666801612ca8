"""Exact admission under concurrency: N concurrent requests against a limit of L admit exactly L in one
process (tests/integration/governance/test_governance_redis_backend.py: across two replicas sharing Redis)."""

from __future__ import annotations

import asyncio

from core.governance.limits.memory_backend import MemoryBackend
from core.governance.limits.model import NONE, REQUEST_UNITS

LIMIT = 25
CONCURRENT = 200
LIMITS = [(LIMIT * REQUEST_UNITS, NONE, NONE, NONE), (1000 * REQUEST_UNITS, NONE, NONE, NONE)]
COSTS = [(REQUEST_UNITS, 0, 0, 0)] * 2


async def test_in_process_admits_exactly_the_limit() -> None:
    backend = MemoryBackend()
    results = await asyncio.gather(*(backend.admit(["m", "o"], LIMITS, COSTS) for _ in range(CONCURRENT)))
    assert sum(r.admitted for r in results) == LIMIT
    states = await backend.usage(["m", "o"])
    assert [s.used[0] for s in states] == [LIMIT * REQUEST_UNITS] * 2
