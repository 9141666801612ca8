from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from core.mcp.registry import McpRegistry
from core.settings import ConfigError, load_settings


def _write(tmp_path: Path, config: dict[str, object]) -> Path:
    path = tmp_path / "aqueduct.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_mcp_servers_and_mcp_config_load_and_merge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAL_KEY", "secret-cal")
    (tmp_path / "mcp.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "calendar": {
                        "type": "streamable-http",
                        "url": "https://cal.example.com/mcp",
                        "description": "Calendar",
                        "tags": ["work"],
                        "icon_url": "https://cal.example.com/i.png",
                        "headers": {"Authorization": "os.environ/CAL_KEY"},
                    }
                }
            }
        )
    )
    path = _write(
        tmp_path,
        {
            "mcp_servers": {"code": {"url": "http://127.0.0.1:1/mcp", "rpm": 5, "read_timeout_seconds": 7}},
            "mcp_config": "mcp.json",
            "mcp_read_timeout_seconds": 9,
        },
    )
    settings = load_settings(path)
    registry = McpRegistry.from_settings(settings)
    calendar = registry.get("calendar")
    code = registry.get("code")
    assert calendar is not None and code is not None
    assert calendar.headers == {"Authorization": "secret-cal"}
    assert (calendar.tags, calendar.icon_url, calendar.read_timeout_seconds) == (
        ("work",),
        "https://cal.example.com/i.png",
        9,
    )
    assert (code.rpm, code.read_timeout_seconds, code.resource_name) == (5, 7, "mcpServers/code")
    assert [s.name for s in registry] == ["calendar", "code"]


@pytest.mark.parametrize(
    ("servers", "message"),
    [
        ({"bad": {"url": "ftp://x"}}, "mcp_servers.bad: url must be an http"),
        ({"bad": {}}, "mcp_servers.bad.url: Field required"),
        ({"bad": {"url": "http://x/mcp", "type": "stdio"}}, "mcp_servers.bad.type"),
        ({"bad": {"url": "http://x/mcp", "colour": 1}}, "mcp_servers.bad.colour"),
        ({"bad name": {"url": "http://x/mcp"}}, "mcp_servers.bad name: the name"),
        ({"bad": {"url": "http://x/mcp", "headers": {"Mcp-Session-Id": "x"}}}, "header 'Mcp-Session-Id'"),
        ({"bad": {"url": "http://x/mcp", "headers": {"X": "os.environ/NOPE_NOT_SET"}}}, "NOPE_NOT_SET"),
        ({"bad": {"url": "http://x/mcp", "rpm": 0}}, "mcp_servers.bad.rpm"),
        (["x"], "mcp_servers must be a mapping"),
    ],
)
def test_bad_entries_stop_startup_naming_the_entry(tmp_path: Path, servers: object, message: str) -> None:
    with pytest.raises(ConfigError, match="config") as error:
        load_settings(_write(tmp_path, {"mcp_servers": servers}))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{nope", "not valid JSON"),
        ('{"servers": {}}', "`mcpServers` mapping"),
        ('{"mcpServers": {"x": {"url": "nope"}}}', "mcp_config.x: url must be"),
    ],
)
def test_bad_mcp_config_files(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "mcp.json").write_text(content)
    with pytest.raises(ConfigError) as error:
        load_settings(_write(tmp_path, {"mcp_config": "mcp.json"}))
    assert message in str(error.value)


def test_a_name_in_both_places_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "mcp.json").write_text('{"mcpServers": {"x": {"url": "http://a/mcp"}}}')
    with pytest.raises(ConfigError, match=r"mcp_servers.x: also defined"):
        load_settings(_write(tmp_path, {"mcp_config": "mcp.json", "mcp_servers": {"x": {"url": "http://b/mcp"}}}))


def test_allowed_hosts_and_origins_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_ALLOWED_HOSTS", "gw.example.com, localhost:*")
    monkeypatch.setenv("MCP_ALLOWED_ORIGINS", "https://app.example.com")
    settings = load_settings(_write(tmp_path, {}))
    assert settings.mcp_allowed_hosts == ["gw.example.com", "localhost:*"]
    assert settings.mcp_allowed_origins == ["https://app.example.com"]
