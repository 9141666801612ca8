"""The attempt loop: pick a deployment, call it, retry, fall back; and keep the deployments' health.

`Router.route(group, endpoint, call)` is an async context manager. Entering it runs attempts until one
succeeds: a unary call's whole response, or a stream's acceptance (HTTP headers). The body of the `async with`
then uses the value (for a stream: forwards it to the client); nothing in there is retried, since bytes may
have reached the client. Leaving it releases the deployment's in-flight slot, counts the tokens for tpm, and
counts a failure that happened in the body (a stream that broke or stalled) against the deployment."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.errors import AqueductError, RateLimited, UpstreamTimeout, UpstreamUnavailable, clipped
from core.routing.deployment import Deployment
from core.routing.error_policy import (
    backoff_seconds,
    is_context_window_error,
    is_deployment_fault,
    is_retryable,
    short_retry_after,
    warrants_fallback,
)
from core.routing.fallbacks import FallbackTable
from core.routing.health import Clock, HealthBoard
from core.routing.registry import ModelGroup, ModelRegistry
from core.routing.router_settings import RouterSettings, router_settings_of
from core.routing.selection import DeploymentSelector
from core.routing.strategies import build_selector
from core.routing.usage_routing import DeploymentCounters, UsageBased
from core.settings import Settings

log = logging.getLogger("aqueduct.core.routing")

# A failure's text in a log line: upstream messages are already bounded (core.errors), other exceptions not.
MAX_LOGGED_ERROR_CHARS = 1024

T = TypeVar("T")
Call = Callable[[Deployment], Awaitable[T]]


def _no_hook(deployment: Deployment) -> None:
    return None


def _no_tokens() -> int:
    return 0


@dataclass(frozen=True, slots=True)
class Routed(Generic[T]):
    """The successful attempt: its value and the deployment that produced it."""

    value: T
    deployment: Deployment


class Router:
    def __init__(
        self,
        registry: ModelRegistry,
        settings: RouterSettings | None = None,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        selector: DeploymentSelector | None = None,
        counters: DeploymentCounters | None = None,
    ) -> None:
        """`counters` are the shared per-deployment counts usage-based-routing-v2 orders by (required for
        that strategy, unused by the others)."""
        self.settings = settings = settings or RouterSettings()
        self.registry = registry
        self.board = HealthBoard(registry.deployments, settings, clock or time.monotonic)
        self._rng = rng or random.Random()
        self.selector = selector or build_selector(settings.routing_strategy, self.board, settings, self._rng)
        self.usage: UsageBased | None = None
        if settings.routing_strategy == "usage-based-routing-v2":
            if counters is None:
                raise ValueError("usage-based-routing-v2 needs the deployment counters")
            self.usage = UsageBased(counters, self._rng)
        self.fallbacks = FallbackTable.build(settings, registry)

    @asynccontextmanager
    async def route(
        self,
        group: ModelGroup,
        endpoint: str,
        call: Call[T],
        *,
        request_id: str,
        on_attempt: Callable[[Deployment], None] = _no_hook,
        tokens_used: Callable[[], int] = _no_tokens,
        excluded_models: frozenset[str] = frozenset(),
    ) -> AsyncIterator[Routed[T]]:
        """`on_attempt` sees each deployment as it is tried (the last one is the one that answered or
        failed); `tokens_used` is read on exit for the deployment's tpm window. Fallback models in
        `excluded_models` (the caller's exclusions) are skipped: a fallback must not serve a model the caller
        may not use."""
        tickets: dict[str, object] = {}
        value, deployment = await self._first_success(
            group, endpoint, call, request_id, on_attempt, excluded_models, tickets
        )
        health = self.board.get(deployment)
        try:
            yield Routed(value, deployment)
        except BaseException as exc:
            if is_deployment_fault(exc):
                health.record_failure(self.board.clock(), _describe(exc))
            raise
        finally:
            tokens = tokens_used()
            health.release(self.board.clock(), tokens)
            if self.usage is not None and deployment.id in tickets:
                await self.usage.counters.count_tokens(tickets[deployment.id], tokens)

    async def _first_success(
        self,
        group: ModelGroup,
        endpoint: str,
        call: Call[T],
        request_id: str,
        on_attempt: Callable[[Deployment], None],
        excluded_models: frozenset[str],
        tickets: dict[str, object],
    ) -> tuple[T, Deployment]:
        try:
            return await self._try_group(group, call, request_id, on_attempt, tickets)
        except AqueductError as exc:
            chain = [g for g in self.fallbacks.after(group, exc, endpoint) if g.name not in excluded_models]
            if not chain:
                raise
            last = exc
        for fallback in chain:
            log.info(
                "model %s failed (%s); falling back to %s (request id %s)",
                group.name,
                _describe(last),
                fallback.name,
                request_id,
            )
            try:
                return await self._try_group(fallback, call, request_id, on_attempt, tickets)
            except AqueductError as exc:
                if not (warrants_fallback(exc) or is_context_window_error(exc)):
                    raise
                last = exc
        raise last

    async def _try_group(
        self,
        group: ModelGroup,
        call: Call[T],
        request_id: str,
        on_attempt: Callable[[Deployment], None],
        tickets: dict[str, object],
    ) -> tuple[T, Deployment]:
        settings = self.settings
        clock = self.board.clock
        failed: dict[str, AqueductError] = {}  # deployment id -> its last error in this request
        excluded: set[str] = set()  # answered with a retry-after too long to wait for
        last: AqueductError | None = None
        for attempt in range(settings.num_retries + 1):
            if self.usage is None:
                deployment = self._pick(group, failed, excluded)
            else:
                deployment = await self._by_usage(group, failed, excluded)
            if deployment is None:
                if last is not None:
                    raise last
                raise self._unavailable(group)
            previous = failed.get(deployment.id)
            if previous is not None:
                delay = backoff_seconds(
                    attempt, settings.retry_backoff_seconds, settings.retry_backoff_max_seconds, self._rng
                )
                await asyncio.sleep(max(delay, short_retry_after(previous, settings.max_retry_after_seconds) or 0))
            health = self.board.get(deployment)
            if self.usage is not None:
                tickets[deployment.id] = await self.usage.counters.count_request(deployment)
            started = clock()
            health.begin(started)
            on_attempt(deployment)
            try:
                value = await call(deployment)
            except AqueductError as exc:
                now = clock()
                health.release(now)
                if is_deployment_fault(exc):
                    health.record_failure(now, _describe(exc))
                if not is_retryable(exc):
                    raise
                if exc.retry_after is not None and exc.retry_after > settings.max_retry_after_seconds:
                    excluded.add(deployment.id)
                    health.cool_down(now, exc.retry_after, f"upstream asked to retry after {exc.retry_after:g}s")
                elif isinstance(exc, UpstreamTimeout):
                    # A timeout is the slowest possible answer: latency-based routing should see it.
                    health.record_latency(now, now - started)
                failed[deployment.id] = last = exc
                log.warning(
                    "attempt %d/%d for model %s on deployment %s failed: %s (request id %s)",
                    attempt + 1,
                    settings.num_retries + 1,
                    group.name,
                    deployment.id,
                    _describe(exc),
                    request_id,
                )
                continue
            except BaseException:
                health.release(clock())
                raise
            health.record_latency(clock(), clock() - started)
            return value, deployment
        assert last is not None
        raise last

    async def _by_usage(
        self, group: ModelGroup, failed: dict[str, AqueductError], excluded: set[str]
    ) -> Deployment | None:
        assert self.usage is not None
        candidates = self._candidates(group, failed, excluded)
        if not candidates:
            return None
        ordered = await self.usage.order(candidates)
        if not ordered:
            raise RateLimited(
                f"Every deployment of model `{group.name}` used its rpm / tpm for this minute; retry shortly."
            )
        return ordered[0]

    def _candidates(self, group: ModelGroup, failed: dict[str, AqueductError], excluded: set[str]) -> list[Deployment]:
        """The available deployments (not cooling down, full, or excluded), those this request has not tried
        yet when there are any."""
        now = self.board.clock()
        usable = [d for d in group.deployments if d.id not in excluded and self.board.get(d).available(now)]
        fresh = [d for d in usable if d.id not in failed]
        return fresh or usable

    def _pick(self, group: ModelGroup, failed: dict[str, AqueductError], excluded: set[str]) -> Deployment | None:
        """The strategy's first choice among the candidates; None when none is available."""
        candidates = self._candidates(group, failed, excluded)
        return self.selector.order(candidates)[0] if candidates else None

    def _unavailable(self, group: ModelGroup) -> AqueductError:
        """No deployment could even be tried: 429 when some are at capacity, else 503 (all cooling down)."""
        now = self.board.clock()
        healths = [self.board.get(d) for d in group.deployments]
        full = [h for h in healths if not h.cooling(now) and h.full(now)]
        if full:
            waits = [w for w in (h.capacity_frees_in(now) for h in full) if w is not None]
            return RateLimited(
                f"Every deployment of model `{group.name}` is at capacity; retry shortly.",
                retry_after=min(waits) if waits else None,
            )
        cooling = [h.cooldown_until - now for h in healths if h.cooling(now)]
        return UpstreamUnavailable(
            f"No healthy deployment for model `{group.name}`; every one is cooling down after failures.",
            retry_after=min(cooling) if cooling else None,
        )


def validate_router_settings(settings: Settings) -> RouterSettings:
    """Checks router_settings against the model list (strategy, numbers, fallback model names) and returns
    them; raises core.settings.ConfigError. For start-up code that wants the error before anything runs."""
    router_settings = router_settings_of(settings)
    FallbackTable.build(router_settings, ModelRegistry.from_settings(settings))
    return router_settings


def _describe(exc: BaseException) -> str:
    """One bounded line for the operator's log and the deployment's health note."""
    status = getattr(exc, "upstream_status", None)
    prefix = f"HTTP {status}: " if status is not None else f"{type(exc).__name__}: "
    message = exc.message if isinstance(exc, AqueductError) else str(exc)
    return prefix + clipped(message, MAX_LOGGED_ERROR_CHARS)
