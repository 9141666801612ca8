"""Per-deployment request and token counts for usage-based routing, kept in the limiter's own windows
(core.routing.usage_routing): Redis when configured (shared by every replica), else in process."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.governance.limits.backend import LimiterBackend
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.model import NONE, REQUEST_UNITS, Dimension
from core.routing.deployment import Deployment
from core.routing.usage_routing import MinuteUsage

_UNLIMITED = (NONE, NONE, NONE, NONE)
_ONE_REQUEST = (REQUEST_UNITS, 0, 0, 0)


def deployment_key(deployment: Deployment) -> str:
    # The id is "<model_name>#<index in model_list>": the same on every replica running the same config.
    return f"dep:{deployment.id}"


@dataclass(frozen=True, slots=True)
class _Ticket:
    backend: LimiterBackend
    key: str
    slot: int


class LimiterCounters:
    def __init__(self, limiter: FailoverLimiter) -> None:
        self._limiter = limiter

    async def used(self, deployments: Sequence[Deployment]) -> list[MinuteUsage]:
        states = await self._limiter.usage([deployment_key(d) for d in deployments])
        return [
            MinuteUsage(s.used[Dimension.REQUESTS] // REQUEST_UNITS, s.used[Dimension.TOTAL_TOKENS]) for s in states
        ]

    async def count_request(self, deployment: Deployment) -> object:
        key = deployment_key(deployment)
        result, backend = await self._limiter.admit([key], [_UNLIMITED], [_ONE_REQUEST])
        return _Ticket(backend, key, result.slot)

    async def count_tokens(self, ticket: object, tokens: int) -> None:
        if tokens <= 0 or not isinstance(ticket, _Ticket):
            return
        # Counted as output tokens: they land in the total-tokens dimension either way, which is what tpm is.
        await self._limiter.settle(ticket.backend, [ticket.key], ticket.slot, 0, tokens)
