"""The MCP part of a config: `mcp_servers:` entries and the Aqueduct `mcp.json` at `mcp_config`, validated and
merged (each bad entry a problem naming it), plus the MCP allow-lists read from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.config.problems import Findings
from core.config.sources import resolve_refs
from core.mcp.config import McpConfigError, merge_servers, parse_servers, read_mcp_json

# Comma-separated lists from the environment (the names the MCP SDKs' own servers read).
LIST_ENV_OVERRIDES = {"MCP_ALLOWED_HOSTS": "mcp_allowed_hosts", "MCP_ALLOWED_ORIGINS": "mcp_allowed_origins"}


def apply_mcp(merged: dict[str, Any], env: Mapping[str, str], base: Path, findings: Findings) -> None:
    """Replaces `merged["mcp_servers"]` with the validated servers of both sources; `mcp_config` is relative
    to the config file's directory (`base`) when it exists there."""
    for name, key in LIST_ENV_OVERRIDES.items():
        if env.get(name):
            merged[key] = [item.strip() for item in env[name].split(",") if item.strip()]
    try:
        servers = parse_servers(merged.get("mcp_servers"), "mcp_servers")
        config_path = merged.get("mcp_config")
        if config_path:
            path = Path(str(config_path))
            path = path if path.is_absolute() or not (base / path).exists() else base / path
            from_file = resolve_refs(read_mcp_json(path), "mcp_config", env, findings, str(path))
            servers = merge_servers(servers, parse_servers(from_file, "mcp_config"))
    except McpConfigError as exc:
        findings.problem("mcp_servers", str(exc), None)
        merged.pop("mcp_servers", None)
        return
    merged["mcp_servers"] = servers
