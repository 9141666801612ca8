"""How a request picks a deployment inside a model group.

Kept behind one small Protocol so routing strategies, retries, fallbacks and cooldowns can replace it later
without touching the inference code, which only asks for an ordered list of candidates."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol

from core.routing.deployment import Deployment


class DeploymentSelector(Protocol):
    """Orders a group's deployments: the first is tried first, the rest are candidates for a retry."""

    def order(self, deployments: Sequence[Deployment]) -> list[Deployment]: ...


class WeightedShuffle:
    """Weighted random order without replacement (Efraimidis-Spirakis keys): a deployment with twice the
    weight comes first twice as often, and every deployment still appears once."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()

    def order(self, deployments: Sequence[Deployment]) -> list[Deployment]:
        if len(deployments) <= 1:
            return list(deployments)
        keyed = [(self._rng.random() ** (1.0 / d.weight), i) for i, d in enumerate(deployments)]
        keyed.sort(reverse=True)
        return [deployments[i] for _, i in keyed]
