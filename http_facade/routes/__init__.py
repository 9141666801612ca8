"""The façade's routes, one module per API surface."""

from __future__ import annotations

from starlette.routing import Route

from . import chat, completions, embeddings, health, models
from ._common import RouteDeps


def all_routes(deps: RouteDeps) -> list[Route]:
    return [
        *chat.routes(deps),
        *completions.routes(deps),
        *embeddings.routes(deps),
        *models.routes(deps),
        *health.routes(deps),
    ]


__all__ = ["RouteDeps", "all_routes"]
