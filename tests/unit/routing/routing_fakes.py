"""Socket-free helpers for router tests: a registry from entries, a drivable clock, and a scripted call."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from typing import Any

from core.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from core.routing import Deployment, ModelRegistry, Router, RouterSettings
from core.settings import Settings

Outcome = str | Exception | asyncio.Event


def entry(name: str, upstream: str, mode: str = "chat", **params: Any) -> dict[str, Any]:
    return {"model_name": name, "litellm_params": {"model": f"mock/{upstream}", **params}, "model_info": {"mode": mode}}


def registry_of(*entries: dict[str, Any]) -> ModelRegistry:
    return ModelRegistry.from_settings(Settings.model_validate({"model_list": list(entries)}))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_router(registry: ModelRegistry, clock: FakeClock | None = None, seed: int = 1, **settings: Any) -> Router:
    settings.setdefault("retry_backoff_seconds", 0.0)
    return Router(registry, RouterSettings(**settings), clock=clock, rng=random.Random(seed))


class Script:
    """The upstream call: per deployment (by upstream model name) a queue of outcomes, then `default`.
    A string is returned, an exception raised, an Event waited for (then the next outcome applies)."""

    def __init__(self, default: Outcome = "ok", **queues: list[Outcome]) -> None:
        self.default = default
        self.queues = {name: deque(q) for name, q in queues.items()}
        self.defaults: dict[str, Outcome] = {}
        self.calls: list[str] = []

    def always(self, upstream: str, outcome: Outcome) -> Script:
        self.defaults[upstream] = outcome
        return self

    async def __call__(self, deployment: Deployment) -> str:
        name = deployment.upstream_model
        self.calls.append(name)
        await asyncio.sleep(0)
        while True:
            queue = self.queues.get(name)
            outcome = queue.popleft() if queue else self.defaults.get(name, self.default)
            if isinstance(outcome, asyncio.Event):
                await outcome.wait()
                continue
            if isinstance(outcome, Exception):
                raise outcome
            return f"{outcome}:{name}"


def http(status: int, message: str = "boom", **kw: Any) -> UpstreamError:
    return UpstreamError(message, upstream_status=status, **kw)


def reset() -> UpstreamUnavailable:
    return UpstreamUnavailable("connection reset")


def timeout() -> UpstreamTimeout:
    return UpstreamTimeout("timed out")


async def route_once(router: Router, model: str, call: Script, endpoint: str = "chat") -> tuple[str, str]:
    """(value, serving deployment's upstream model)."""
    group = router.registry.resolve(model)
    async with router.route(group, endpoint, call, request_id="rid-1") as routed:
        return routed.value, routed.deployment.upstream_model
