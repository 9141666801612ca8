"""MCP proxy fixtures: the real upstreams (server-everything over npm, the Python SDK's 2026-07-28 server), a
gateway on PostgreSQL (shared by a second replica in the multi-replica tests), and SDK clients through it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.support.databases import database_url
from tests.support.gateway import Gateway
from tests.support.mcp_upstreams import RecordingApp, everything_server, modern_upstream

UPSTREAM_SECRET = "upstream-secret-header-value-0123"


@pytest.fixture(scope="session")
def everything() -> Iterator[str]:
    with everything_server() as url:
        yield url


@pytest.fixture(scope="session")
def modern() -> Iterator[tuple[str, RecordingApp]]:
    with modern_upstream() as served:
        yield served


def mcp_config(everything_url: str, modern_url: str, db_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "database_url": db_url,
        "usage_flush_interval_seconds": 0.1,
        "mcp_servers": {
            "everything": {
                "type": "streamable-http",
                "url": everything_url,
                "description": "The MCP reference server",
                "tags": ["reference", "test"],
                "icon_url": "https://example.com/everything.png",
            },
            "modern": {
                "url": modern_url,
                "description": "A 2026-07-28 server",
                "headers": {"X-Upstream-Key": UPSTREAM_SECRET},
            },
            "secret-tools": {"url": modern_url, "description": "excluded for some"},
            "down": {"url": "http://127.0.0.1:9/mcp", "connect_timeout_seconds": 2},
        },
        **extra,
    }


@pytest.fixture(scope="session")
def gateway_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database_url("postgres", tmp_path_factory.mktemp("mcp-db")) as url:
        yield url


@pytest.fixture(scope="session")
def gateway(
    everything: str, modern: tuple[str, RecordingApp], gateway_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("mcp-gw")
    gw = Gateway(mcp_config(everything, modern[0], gateway_db), workdir)
    gw.config_db = gateway_db  # type: ignore[attr-defined]
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="session")
def second_gateway(
    everything: str,
    modern: tuple[str, RecordingApp],
    gateway_db: str,
    gateway: Gateway,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    """A second `aqueduct serve` on the same PostgreSQL: another replica."""
    workdir: Path = tmp_path_factory.mktemp("mcp-gw2")
    gw = Gateway(mcp_config(everything, modern[0], gateway_db), workdir)
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


def new_token(gateway: Gateway, org: str = "mcp") -> str:
    return gateway.create_user_token(org, f"u{uuid.uuid4().hex[:10]}@example.com")


@pytest.fixture
def token(gateway: Gateway) -> str:
    return new_token(gateway)


def endpoint(gateway: Gateway, server: str, *, v1: bool = True) -> str:
    return f"{gateway.v1 if v1 else gateway.base_url}/mcp-servers/{server}/mcp"


def http_client(token: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(30, read=60))


@asynccontextmanager
async def handshake_session(url: str, token: str, **kwargs: Any) -> AsyncIterator[ClientSession]:
    """The SDK's handshake-era ClientSession through the gateway, initialised."""
    async with (
        http_client(token) as client,
        streamable_http_client(url, http_client=client) as (read, write),
        ClientSession(read, write, **kwargs) as session,
    ):
        await session.initialize()
        yield session
