"""Model and MCP-server access: exclusion lists with inheritance (core.access.exclusions), their admin
operations (core.access.admin) and governance scopes with their authorization (core.access.scope)."""

from core.access.exclusions import ExclusionKind, ExclusionPolicy

__all__ = ["ExclusionKind", "ExclusionPolicy"]
