"""Model and MCP-server access: exclusion lists with inheritance (`exclusions`), exclusions and exclusion
policies as resources (`admin`), and the governance scopes those resources hang under (`scope`: resource names
resolved to ids; who may act on them is core.governance.authorization's)."""

from core.governance.access.exclusions import ExclusionKind, ExclusionPolicy

__all__ = ["ExclusionKind", "ExclusionPolicy"]
