"""The façade's routes, one module per API surface."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from . import batches, chat, completions, embeddings, files, health, images, mcp, models, speech, transcriptions
from ._common import RouteDeps


def all_routes(deps: RouteDeps) -> list[BaseRoute]:
    """The router tries routes in order (one regex match each), so the /v1 forms that the SDKs call come
    first, the hot inference routes first among them; the unprefixed forms follow in the same order."""
    routes: list[Route] = [
        *chat.routes(deps),
        *completions.routes(deps),
        *embeddings.routes(deps),
        *speech.routes(deps),
        *images.routes(deps),
        *transcriptions.routes(deps),
        *models.routes(deps),
        *files.routes(deps),
        *batches.routes(deps),
        *health.routes(deps),
        *mcp.routes(deps),
    ]
    return [*sorted(routes, key=_unprefixed)]


def _unprefixed(route: Route) -> bool:
    return not route.path.startswith("/v1/")


__all__ = ["RouteDeps", "all_routes"]
