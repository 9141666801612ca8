"""Model registry and deployment selection."""

from core.routing.deployment import Deployment
from core.routing.registry import ENDPOINT_MODES, ModelGroup, ModelRegistry, model_not_found
from core.routing.selection import DeploymentSelector, WeightedShuffle

__all__ = [
    "ENDPOINT_MODES",
    "Deployment",
    "DeploymentSelector",
    "ModelGroup",
    "ModelRegistry",
    "WeightedShuffle",
    "model_not_found",
]
