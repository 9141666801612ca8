"""The configured MCP servers as the proxy uses them: name, upstream URL, the upstream's own headers, and
timeouts with the gateway defaults filled in. Resource names are `mcpServers/{name}`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from core.errors import InvalidRequest, NotFound
from core.settings import Settings

COLLECTION = "mcpServers"


@dataclass(frozen=True, slots=True)
class McpServerEntry:
    name: str
    url: str
    transport: str
    description: str
    tags: tuple[str, ...]
    icon_url: str
    headers: dict[str, str]  # never shown to callers
    rpm: int | None
    connect_timeout_seconds: float
    read_timeout_seconds: float

    @property
    def resource_name(self) -> str:
        return f"{COLLECTION}/{self.name}"

    @property
    def limit_key(self) -> str:
        """The name the server's own rpm cap is kept under among the model limits."""
        return limit_key(self.name)


def limit_key(name: str) -> str:
    return f"{COLLECTION}/{name}"


class McpRegistry:
    def __init__(self, servers: dict[str, McpServerEntry]) -> None:
        self._servers = dict(sorted(servers.items()))

    @classmethod
    def from_settings(cls, settings: Settings) -> McpRegistry:
        return cls(
            {
                name: McpServerEntry(
                    name=name,
                    url=server.url,
                    transport="streamable-http",
                    description=server.description,
                    tags=tuple(server.tags),
                    icon_url=server.icon_url or "",
                    headers=dict(server.headers),
                    rpm=server.rpm,
                    connect_timeout_seconds=server.connect_timeout_seconds or settings.mcp_connect_timeout_seconds,
                    read_timeout_seconds=server.read_timeout_seconds or settings.mcp_read_timeout_seconds,
                )
                for name, server in settings.mcp_servers.items()
            }
        )

    def __iter__(self) -> Iterator[McpServerEntry]:
        return iter(self._servers.values())

    def __len__(self) -> int:
        return len(self._servers)

    def get(self, name: str) -> McpServerEntry | None:
        return self._servers.get(name)


def server_id(resource_name: str, field: str) -> str:
    """`mcpServers/{name}` -> name; a bare name is accepted too."""
    name = resource_name.strip().removeprefix(f"{COLLECTION}/")
    if not name or "/" in name:
        raise InvalidRequest(f"{field} must be {COLLECTION}/{{name}}, got {resource_name!r}", field=field)
    return name


def server_not_found(name: str) -> NotFound:
    return NotFound(f"The MCP server {name!r} does not exist or is not available to you.", field="mcp_server")
