"""MCP server configuration: `mcp_servers:` in the YAML config (the `mcpServers` mapping of an Aqueduct
`mcp.json`, plus `headers` for the upstream's own credentials) and `mcp_config:`, the path of an Aqueduct
`mcp.json` loaded unchanged. Bad entries stop startup with a message naming the entry."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Server names appear in URL paths (`/mcp-servers/{name}/mcp`) and resource names.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
# Header names a configured upstream header may not set: the gateway owns the transport's own headers.
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "accept", "mcp-session-id", "mcp-protocol-version", "last-event-id"}
)


class McpConfigError(ValueError):
    """A configured MCP server is unusable; the message names the entry."""


class McpServerConfig(BaseModel):
    """One `mcpServers` entry. Timeouts are seconds; None takes the gateway-wide default."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["streamable-http", "http"] = "streamable-http"
    url: str
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    icon_url: str | None = None
    # Sent to the upstream with every request (its own credentials); values may be os.environ/NAME.
    headers: dict[str, str] = Field(default_factory=dict)
    # All callers' requests to this server together, per minute; None: no cap of its own.
    rpm: int | None = Field(default=None, ge=1)
    connect_timeout_seconds: float | None = Field(default=None, gt=0)
    # Longest silence between two events (or body chunks) from the upstream.
    read_timeout_seconds: float | None = Field(default=None, gt=0)


def _check_entry(name: str, server: McpServerConfig, where: str) -> None:
    if not NAME_PATTERN.match(name):
        raise McpConfigError(f"{where}: the name must be 1-63 letters, digits, '_', '.' or '-', starting alnum")
    parts = urlsplit(server.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise McpConfigError(f"{where}: url must be an http:// or https:// URL, got {server.url!r}")
    for header in server.headers:
        if header.lower() in RESERVED_HEADERS or not re.match(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", header):
            raise McpConfigError(f"{where}: header {header!r} cannot be configured")


def parse_servers(raw: Any, where: str) -> dict[str, McpServerConfig]:
    """A `{name: entry}` mapping -> validated entries; McpConfigError names the first bad entry."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise McpConfigError(f"{where} must be a mapping of server names to entries")
    servers: dict[str, McpServerConfig] = {}
    for name, entry in raw.items():
        entry_where = f"{where}.{name}"
        try:
            server = McpServerConfig.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise McpConfigError(f"{entry_where}{'.' + loc if loc else ''}: {first['msg']}") from None
        _check_entry(str(name), server, entry_where)
        servers[str(name)] = server
    return servers


def read_mcp_json(path: Path) -> Any:
    """The `mcpServers` mapping of an Aqueduct mcp.json (raw; env references not yet resolved)."""
    try:
        loaded = json.loads(path.read_text())
    except OSError as exc:
        raise McpConfigError(f"mcp_config: cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise McpConfigError(f"mcp_config: {path} is not valid JSON: {exc}") from None
    if not isinstance(loaded, dict) or not isinstance(loaded.get("mcpServers"), dict):
        raise McpConfigError(f"mcp_config: {path} must hold an object with an `mcpServers` mapping")
    return loaded["mcpServers"]


def merge_servers(
    inline: dict[str, McpServerConfig], from_file: dict[str, McpServerConfig]
) -> dict[str, McpServerConfig]:
    duplicate = sorted(set(inline) & set(from_file))
    if duplicate:
        raise McpConfigError(f"mcp_servers.{duplicate[0]}: also defined in the mcp_config file")
    return {**inline, **from_file}
