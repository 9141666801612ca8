"""Admission: before a request goes upstream it reserves its place in every window that applies (one atomic
step); when its usage is known the reservation is settled (the estimated input tokens corrected, the output
tokens added). A rejected request reserves nothing and counts nowhere; an admitted one counts even when the
upstream call fails.

No database on this path: limits come from the in-memory table (core.governance.limits.snapshot), windows from the
in-process or Redis backend (core.governance.limits.failover)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence

from core.auth.principal import Principal
from core.errors import RateLimited
from core.governance.limits.backend import AdmitResult, LimiterBackend, Rejection
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.headers import rate_limit_headers, requests_text
from core.governance.limits.memory_backend import MemoryBackend
from core.governance.limits.model import (
    DIMENSION_LABELS,
    DIMENSION_NAMES,
    NONE,
    WINDOW_SECONDS,
    Check,
    Dimension,
)
from core.governance.limits.plan import ModelLimit, plan_checks
from core.governance.limits.snapshot import RefreshingSnapshot
from core.governance.limits.store import LimitTable

log = logging.getLogger("aqueduct.core.governance.limits")


class Reservation:
    """What one admitted request holds. `settle` is synchronous and idempotent (safe from a `finally` or a
    usage hook); with Redis the correction is sent in the background."""

    __slots__ = (
        "_admission",
        "_backend",
        "_keys",
        "_reserved_input",
        "_reserved_output",
        "_settled",
        "_slot",
        "headers",
    )

    def __init__(
        self,
        admission: Admission | None,
        backend: LimiterBackend | None,
        keys: tuple[str, ...],
        slot: int,
        reserved: tuple[int, int],
        headers: dict[str, str],
    ) -> None:
        self._admission = admission
        self._backend = backend
        self._keys = keys
        self._slot = slot
        self._reserved_input, self._reserved_output = reserved
        self._settled = False
        self.headers = headers

    @property
    def settled(self) -> bool:
        return self._settled

    def settle(self, input_tokens: int, output_tokens: int) -> None:
        if self._settled:
            return
        self._settled = True
        if self._admission is None or self._backend is None or not self._keys:
            return
        delta = max(0, input_tokens) - self._reserved_input
        self._admission._settle(
            self._backend, self._keys, self._slot, delta, max(0, output_tokens), self._reserved_output
        )


NO_RESERVATION_HEADERS: dict[str, str] = {}


def _unlimited() -> Reservation:
    return Reservation(None, None, (), 0, (0, 0), NO_RESERVATION_HEADERS)


class Admission:
    def __init__(
        self,
        limiter: FailoverLimiter,
        limits: RefreshingSnapshot[LimitTable],
        models: Mapping[str, ModelLimit],
        *,
        settle_interval: float = 0.0,
        default_output_reservation: int = 0,
    ) -> None:
        self.limiter = limiter
        self._default_output = default_output_reservation
        self._limits = limits
        self._models = dict(models)
        self._settle_interval = settle_interval
        # Settlements waiting to be sent, summed per (backend, keys, slot): [input delta, output tokens,
        # released output reservation].
        self._unsent: dict[tuple[LimiterBackend, tuple[str, ...], int], list[int]] = {}
        self._sender: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def checks(
        self, principal: Principal, model: str | None, estimated_input_tokens: int, max_output_tokens: int | None
    ) -> list[Check]:
        return plan_checks(
            principal,
            model,
            self._limits.value,
            self._models,
            estimated_input_tokens,
            max_output_tokens,
            self._default_output,
        )

    async def admit(
        self,
        principal: Principal,
        model: str | None,
        estimated_input_tokens: int,
        max_output_tokens: int | None = None,
        *,
        share: float = 1.0,
    ) -> Reservation:
        """Reserves the request in every applicable window (its input estimate and its output tokens: the
        request's max_tokens, else the default), or raises RateLimited (nothing reserved). The x-ratelimit-*
        headers of the outcome are the reservation's `headers` (or the error's metadata)."""
        checks = self.checks(principal, model, estimated_input_tokens, max_output_tokens)
        if not checks:
            return _unlimited()
        if share < 1.0:
            checks = [_scaled(c, share) for c in checks]
        keys = tuple(c.key for c in checks)
        result, backend = await self.limiter.admit(
            keys,
            [c.limits for c in checks],
            [c.costs for c in checks],
            [c.costs if c.needs is None else c.needs for c in checks],
        )
        headers = rate_limit_headers(checks, result.states)
        if result.rejection is not None:
            raise rate_limited(checks, result, result.rejection, headers)
        costs = checks[0].costs
        reserved = (costs[Dimension.INPUT_TOKENS], costs[Dimension.OUTPUT_TOKENS])
        return Reservation(self, backend, keys, result.slot, reserved, headers)

    def _settle(
        self, backend: LimiterBackend, keys: tuple[str, ...], slot: int, delta: int, output: int, reserved: int
    ) -> None:
        if delta == 0 and output == 0 and reserved == 0:
            return
        if isinstance(backend, MemoryBackend):
            backend.settle_now(keys, slot, delta, output, reserved)
            return
        unsent = self._unsent.get((backend, keys, slot))
        if unsent is None:
            self._unsent[(backend, keys, slot)] = [delta, output, reserved]
        else:
            unsent[0] += delta
            unsent[1] += output
            unsent[2] += reserved
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._send_settlements())
            self._pending.add(self._sender)
            self._sender.add_done_callback(self._pending.discard)

    async def _send_settlements(self) -> None:
        """Sends what accumulated during `settle_interval`: a burst of requests by one caller costs one script."""
        try:
            await asyncio.sleep(self._settle_interval)
        finally:
            # Cancelled (a shutdown that did not drain): dropped, like a settlement lost to a Redis outage.
            batch, self._unsent, self._sender = self._unsent, {}, None
        await asyncio.gather(
            *(
                self.limiter.settle(b, keys, slot, delta, out, reserved)
                for (b, keys, slot), (delta, out, reserved) in batch.items()
            )
        )

    async def drain(self) -> None:
        """Waits for settlements still in flight (shutdown, tests)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)


def _scaled(check: Check, share: float) -> Check:
    """The check with every limit cut to `share` of itself (unlimited stays unlimited, a limit never below 1)."""
    limits = tuple(limit if limit == NONE else max(1, int(limit * share)) for limit in check.limits)
    return dataclasses.replace(check, limits=limits)  # type: ignore[arg-type]


def rate_limited(
    checks: Sequence[Check], result: AdmitResult, rejection: Rejection, headers: dict[str, str]
) -> RateLimited:
    check = checks[rejection.index]
    dim = Dimension(rejection.dimension)
    state = result.states[rejection.index]
    limit = check.limits[dim]
    used = state.used[dim]
    label = DIMENSION_LABELS[dim]
    source = check.sources[dim] or check.subject
    retry_seconds = max(rejection.retry_after_ms / 1000, 0.001)
    if dim == Dimension.REQUESTS:
        limit_text, used_text = requests_text(limit), requests_text(used)
    else:
        limit_text, used_text = str(limit), str(used)
    if rejection.too_large:
        message = (
            f"Request too large: it needs about {check.costs[dim]} {label.split(' per ')[0]}, more than the "
            f"{check.level.value}-level limit of {limit_text} {label} for {check.subject} ({source})."
        )
    else:
        message = (
            f"Rate limit reached for {label} at the {check.level.value} level: {check.subject} is limited to "
            f"{limit_text} {label} ({source}) and used {used_text} in the last {WINDOW_SECONDS} seconds. "
            f"Please retry after {math.ceil(retry_seconds)} seconds."
        )
    metadata = {
        **headers,
        "limit_level": check.level.value,
        "limit_dimension": DIMENSION_NAMES[dim],
        "limit_subject": check.subject,
    }
    return RateLimited(message, metadata=metadata, retry_after=retry_seconds)
