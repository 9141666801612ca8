"""Model and MCP-server access: exclusion lists with inheritance (`exclusions`), their admin operations
(`admin`) and governance scopes with their authorization (`scope`)."""

from core.governance.access.exclusions import ExclusionKind, ExclusionPolicy

__all__ = ["ExclusionKind", "ExclusionPolicy"]
