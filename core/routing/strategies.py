"""The routing strategies of `router_settings.routing_strategy`, each a DeploymentSelector.

simple-shuffle is WeightedShuffle (selection.py); the other two read live state from the HealthBoard."""

from __future__ import annotations

import random
from collections.abc import Sequence

from core.routing.deployment import Deployment
from core.routing.health import HealthBoard
from core.routing.router_settings import RouterSettings, RoutingStrategy
from core.routing.selection import DeploymentSelector, WeightedShuffle


class LeastBusy:
    """Fewest in-flight requests first; ties are broken at random so equal deployments share the load."""

    def __init__(self, board: HealthBoard, rng: random.Random | None = None) -> None:
        self._board = board
        self._rng = rng or random.Random()

    def order(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        keyed = [(self._board.get(d).in_flight, self._rng.random(), i) for i, d in enumerate(deployments)]
        keyed.sort()
        return [deployments[i] for _, _, i in keyed]


class LowestLatency:
    """Lowest recent latency first. Unmeasured (or stale) deployments come first so they get measured, and
    a share of requests (`latency_exploration`) takes a weighted-random order instead, so a deployment that
    was slow is measured again and wins traffic back once it recovers."""

    def __init__(self, board: HealthBoard, settings: RouterSettings, rng: random.Random | None = None) -> None:
        self._board = board
        self._exploration = settings.latency_exploration
        self._rng = rng or random.Random()
        self._shuffle = WeightedShuffle(self._rng)

    def order(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        if len(deployments) <= 1:
            return list(deployments)
        if self._rng.random() < self._exploration:
            return self._shuffle.order(deployments)
        now = self._board.clock()
        keyed = []
        for i, d in enumerate(deployments):
            latency = self._board.get(d).latency(now)
            keyed.append((-1.0 if latency is None else latency, self._rng.random(), i))
        keyed.sort()
        return [deployments[i] for _, _, i in keyed]


def build_selector(
    strategy: RoutingStrategy, board: HealthBoard, settings: RouterSettings, rng: random.Random | None = None
) -> DeploymentSelector:
    if strategy == "least-busy":
        return LeastBusy(board, rng)
    if strategy == "latency-based-routing":
        return LowestLatency(board, settings, rng)
    return WeightedShuffle(rng)
