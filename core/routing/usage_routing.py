"""usage-based-routing-v2: each request goes to the deployment with the most rpm / tpm headroom in the
current minute. The counts live in the rate limiter's windows (one key per deployment, Redis when
configured), so every replica sharing that Redis sees the same usage and they spread load together.

Headroom is the smallest remaining share over the limits a deployment sets (rpm, tpm); a deployment
without either has all of it. A deployment with none left is skipped; when every one is out, the request
is refused with 429 until the window frees up. Ties go to the one with fewer tokens, then requests, then
at random."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from core.routing.deployment import Deployment


@dataclass(frozen=True, slots=True)
class MinuteUsage:
    requests: int
    tokens: int


class DeploymentCounters(Protocol):
    """The shared per-deployment counters (core.governance.limits.deployment_counters implements it)."""

    async def used(self, deployments: Sequence[Deployment]) -> list[MinuteUsage]:
        """Requests and tokens of each deployment in the current minute."""
        ...

    async def count_request(self, deployment: Deployment) -> object:
        """Counts one upstream request now; the ticket is for `count_tokens`."""
        ...

    async def count_tokens(self, ticket: object, tokens: int) -> None:
        """Adds the request's tokens once they are known."""
        ...


def headroom(deployment: Deployment, usage: MinuteUsage) -> float:
    shares = []
    if deployment.rpm is not None:
        shares.append((deployment.rpm - usage.requests) / deployment.rpm)
    if deployment.tpm is not None:
        shares.append((deployment.tpm - usage.tokens) / deployment.tpm)
    return min(shares) if shares else 1.0


class UsageBased:
    def __init__(self, counters: DeploymentCounters, rng: random.Random | None = None) -> None:
        self.counters = counters
        self._rng = rng or random.Random()

    async def order(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        """The deployments with headroom left, most first ([] when none has any)."""
        usages = await self.counters.used(deployments)
        keyed = []
        for i, (d, usage) in enumerate(zip(deployments, usages, strict=True)):
            room = headroom(d, usage)
            if room > 0:
                keyed.append((-room, usage.tokens, usage.requests, self._rng.random(), i))
        keyed.sort()
        return [deployments[k[-1]] for k in keyed]
