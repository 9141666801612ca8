"""The deployment status listing behind `aqueduct models status` (ModelService.ListDeployments)."""

from __future__ import annotations

import base64
import binascii

from core.errors import InvalidRequest
from core.routing.health import DeploymentStatus, HealthBoard
from core.routing.registry import ModelRegistry


def list_deployment_statuses(
    registry: ModelRegistry, board: HealthBoard, *, model: str, page_size: int, page_token: str
) -> tuple[list[DeploymentStatus], str]:
    """Deployments grouped by model (sorted by name), config order within a model; `model` (name or alias)
    filters, raising ModelNotFound when unknown. `page_size` 0 means all. Returns (page, next_page_token);
    tokens carry the last deployment id, which is stable for a given config, so they work on any replica."""
    if page_size < 0:
        raise InvalidRequest("page_size must not be negative.", field="page_size")
    deployments = list(registry.resolve(model).deployments) if model else registry.deployments
    start = 0
    if page_token:
        last_id = _decode_token(page_token)
        ids = [d.id for d in deployments]
        if last_id not in ids:
            raise InvalidRequest("page_token is not a token this server issued.", field="page_token")
        start = ids.index(last_id) + 1
    end = len(deployments) if page_size == 0 else min(len(deployments), start + page_size)
    page = deployments[start:end]
    next_token = _encode_token(page[-1].id) if page and end < len(deployments) else ""
    return board.statuses(page), next_token


def _encode_token(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode("utf-8")).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        return base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidRequest("page_token is not a token this server issued.", field="page_token") from None
