"""Model registry, deployment selection, and the router (retries, fallbacks, cooldown, capacity)."""

from core.routing.deployment import Deployment
from core.routing.health import DeploymentHealth, DeploymentStatus, HealthBoard
from core.routing.registry import ENDPOINT_MODES, ModelGroup, ModelRegistry
from core.routing.router import Routed, Router, validate_router_settings
from core.routing.router_settings import RouterSettings, RoutingStrategy, router_settings_of
from core.routing.selection import DeploymentSelector, WeightedShuffle
from core.routing.strategies import LeastBusy, LowestLatency, build_selector

__all__ = [
    "ENDPOINT_MODES",
    "Deployment",
    "DeploymentHealth",
    "DeploymentSelector",
    "DeploymentStatus",
    "HealthBoard",
    "LeastBusy",
    "LowestLatency",
    "ModelGroup",
    "ModelRegistry",
    "Routed",
    "Router",
    "RouterSettings",
    "RoutingStrategy",
    "WeightedShuffle",
    "build_selector",
    "router_settings_of",
    "validate_router_settings",
]
