"""Live state of each deployment as this replica sees it: in-flight requests, recent failures and cooldown,
latency, and the last minute's requests and tokens (for rpm / tpm capacity and the status call).

All methods are synchronous and called from the event loop only, so no locking is needed. Times are from a
monotonic clock (injected, so tests can drive it)."""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.routing.deployment import Deployment
from core.routing.router_settings import RouterSettings
from core.routing.windows import SlidingSum

log = logging.getLogger("aqueduct.core.routing")

Clock = Callable[[], float]

# rpm / tpm are per minute by definition, and the status call reports the same window.
MINUTE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class DeploymentStatus:
    """A snapshot for `aqueduct models status` / ModelService.ListDeployments."""

    deployment: Deployment
    cooling_down: bool
    cooldown_until_unix: float | None
    in_flight: int
    latency_ms: float | None
    requests_last_minute: int
    failures_last_minute: int
    tokens_last_minute: int
    max_parallel_requests: int | None

    @property
    def error_rate(self) -> float:
        if self.requests_last_minute == 0:
            return 0.0
        return min(1.0, self.failures_last_minute / self.requests_last_minute)


class DeploymentHealth:
    def __init__(self, deployment: Deployment, settings: RouterSettings, *, can_cool_down: bool = True) -> None:
        self.deployment = deployment
        # The only deployment of its model never cools down (as in LiteLLM): there is nowhere else to send
        # its traffic, so a cooldown would only turn a bad minute into a cooldown_time outage.
        self.can_cool_down = can_cool_down
        self._settings = settings
        self.max_parallel = deployment.max_parallel_requests or settings.max_parallel_requests
        self.in_flight = 0
        self.cooldown_until = 0.0
        self._recent_failures: deque[float] = deque()
        self._requests = SlidingSum(MINUTE_SECONDS)
        self._failures = SlidingSum(MINUTE_SECONDS)
        self._tokens = SlidingSum(MINUTE_SECONDS)
        self._latency_ms: float | None = None
        self._latency_at = 0.0

    # -- routing questions --

    def cooling(self, now: float) -> bool:
        return now < self.cooldown_until

    def full(self, now: float) -> bool:
        """At its rpm, tpm or concurrency capacity: skipped rather than overrun."""
        d = self.deployment
        if self.max_parallel is not None and self.in_flight >= self.max_parallel:
            return True
        if d.rpm is not None and self._requests.total(now) >= d.rpm:
            return True
        return d.tpm is not None and self._tokens.total(now) >= d.tpm

    def available(self, now: float) -> bool:
        return not self.cooling(now) and not self.full(now)

    def capacity_frees_in(self, now: float) -> float | None:
        """Seconds until rpm / tpm capacity frees up; None when only concurrency (or nothing) is full."""
        waits = []
        d = self.deployment
        if d.rpm is not None and self._requests.total(now) >= d.rpm:
            waits.append(self._requests.frees_in(now))
        if d.tpm is not None and self._tokens.total(now) >= d.tpm:
            waits.append(self._tokens.frees_in(now))
        return max(waits) if waits else None

    def latency(self, now: float) -> float | None:
        """The recent latency in ms, or None when unmeasured or stale."""
        if self._latency_ms is None or now - self._latency_at > self._settings.latency_stale_seconds:
            return None
        return self._latency_ms

    # -- bookkeeping --

    def begin(self, now: float) -> None:
        self.in_flight += 1
        self._requests.add(now)

    def release(self, now: float, tokens: int = 0) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self._tokens.add(now, tokens)

    def record_latency(self, now: float, seconds: float) -> None:
        sample = seconds * 1000
        alpha = self._settings.latency_ewma_alpha
        current = self.latency(now)
        self._latency_ms = sample if current is None else alpha * sample + (1 - alpha) * current
        self._latency_at = now

    def record_failure(self, now: float, reason: str) -> None:
        """Counts a failure; `allowed_fails` of them within the failure window start a cooldown."""
        self._failures.add(now)
        window = self._settings.failure_window_seconds
        fails = self._recent_failures
        fails.append(now)
        while fails and fails[0] <= now - window:
            fails.popleft()
        if len(fails) >= self._settings.allowed_fails and not self.cooling(now):
            self.cool_down(now, self._settings.cooldown_time, f"{len(fails)} failures within {window:g}s ({reason})")

    def cool_down(self, now: float, seconds: float, why: str) -> None:
        until = now + min(seconds, self._settings.cooldown_time)
        if not self.can_cool_down or until <= self.cooldown_until:
            return
        self.cooldown_until = until
        # A fresh start afterwards: failures before the cooldown do not count towards the next one.
        self._recent_failures.clear()
        log.warning("deployment %s cooling down for %.1fs: %s", self.deployment.id, until - now, why)

    def status(self, now: float, wall_now: float) -> DeploymentStatus:
        cooling = self.cooling(now)
        return DeploymentStatus(
            deployment=self.deployment,
            cooling_down=cooling,
            cooldown_until_unix=wall_now + (self.cooldown_until - now) if cooling else None,
            in_flight=self.in_flight,
            latency_ms=self.latency(now),
            requests_last_minute=self._requests.total(now),
            failures_last_minute=self._failures.total(now),
            tokens_last_minute=self._tokens.total(now),
            max_parallel_requests=self.max_parallel,
        )


class HealthBoard:
    """One DeploymentHealth per configured deployment."""

    def __init__(self, deployments: Iterable[Deployment], settings: RouterSettings, clock: Clock = time.monotonic):
        self.clock = clock
        deployments = list(deployments)
        group_sizes = Counter(d.model_name for d in deployments)
        self._health = {
            d.id: DeploymentHealth(d, settings, can_cool_down=group_sizes[d.model_name] > 1) for d in deployments
        }

    @property
    def deployments(self) -> list[Deployment]:
        return [h.deployment for h in self._health.values()]

    def get(self, deployment: Deployment) -> DeploymentHealth:
        return self._health[deployment.id]

    def statuses(self, deployments: Iterable[Deployment]) -> list[DeploymentStatus]:
        now, wall_now = self.clock(), time.time()
        return [self._health[d.id].status(now, wall_now) for d in deployments]
