"""The deployment status listing behind `aqueduct models status` (ModelService.ListDeployments)."""

from __future__ import annotations

from core.pagination import Page, paginate_items
from core.routing.health import DeploymentStatus, HealthBoard
from core.routing.registry import ModelRegistry


def list_deployment_statuses(
    registry: ModelRegistry, board: HealthBoard, *, model: str, page_size: int, page_token: str
) -> Page[DeploymentStatus]:
    """Deployments grouped by model (sorted by name), config order within a model; `model` (name or alias)
    filters, raising ModelNotFound when unknown. Paged by deployment id (stable for a given config), the
    filter being the page token's scope."""
    deployments = list(registry.resolve(model).deployments) if model else registry.deployments
    page = paginate_items(
        deployments, key_of=lambda d: d.id, page_size=page_size, page_token=page_token, scope=f"model={model}"
    )
    return Page(board.statuses(page.items), page.next_page_token)
