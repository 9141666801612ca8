"""End-to-end fixtures: the fake upstream, and one real `aqueduct serve` per database backend and per façade ->
core transport, so every end-to-end test runs over the in-process channel (`serve`'s default) and over loopback
gRPC (what split core/façade processes use)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support.databases import database_url
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway

UPSTREAM_KEY = "sk-upstream-secret-key-0123456789"
TRANSPORT_ENV = "AQUEDUCT_CORE_TRANSPORT"


_clients: list[openai.OpenAI] = []


def client(gateway: Gateway, token: str, *, v1: bool = True, headers: dict[str, str] | None = None) -> openai.OpenAI:
    """An OpenAI SDK client on the gateway, closed when the test ends (an unclosed one would warn about its socket
    in whichever test the garbage collector happens to run in)."""
    made = openai.OpenAI(
        base_url=gateway.v1 if v1 else gateway.base_url, api_key=token, max_retries=0, default_headers=headers
    )
    _clients.append(made)
    return made


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def gateway_config(upstream_url: str, db_url: str) -> dict[str, Any]:
    def model(name: str, mode: str, aliases: list[str] | None = None, **params: Any) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {
                "model": f"openai/{name}-upstream",
                "api_base": upstream_url + "/v1",
                "api_key": UPSTREAM_KEY,
                **params,
            },
            "model_info": {"mode": mode, "aliases": aliases or []},
        }

    return {
        "database_url": db_url,
        "usage_flush_interval_seconds": 0.1,
        "model_list": [
            model("chat-model", "chat", ["main", "coding"]),
            model("text-model", "completion"),
            model("embed-model", "embedding"),
            model("slow-model", "chat", timeout=1),
        ],
    }


@pytest.fixture(scope="session", params=["local", "tcp"])
def core_transport(request: pytest.FixtureRequest) -> str:
    """`aqueduct serve --core-transport`, passed as $AQUEDUCT_CORE_TRANSPORT."""
    return str(request.param)


def transport_env(core_transport: str) -> dict[str, str]:
    return {TRANSPORT_ENV: core_transport}


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def gateway(
    request: pytest.FixtureRequest,
    core_transport: str,
    upstream: FakeUpstream,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp(f"gw-{request.param}-{core_transport}")
    with database_url(request.param, workdir) as db_url:
        gw = Gateway(gateway_config(upstream.url, db_url), workdir, env=transport_env(core_transport))
        gw.db_url = db_url  # type: ignore[attr-defined]
        gw.start()
        try:
            yield gw
        finally:
            gw.stop()


@pytest.fixture
def user_token(gateway: Gateway) -> str:
    """A fresh user with a fresh personal token, so tests never share credentials."""
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    return gateway.create_user_token("e2e", email)
