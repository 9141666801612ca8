"""Real `aqueduct serve` processes for the hardening tests (issue 16), with the fake upstream behind them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.governance.conftest import governance_config
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway


@pytest.fixture(scope="module")
def fake_upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def start_gateway(
    upstream: FakeUpstream,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    env: dict[str, str] | None = None,
    **settings: Any,
) -> Gateway:
    """A gateway on its own SQLite file (stop it); `settings` go into its config file."""
    workdir = tmp_path_factory.mktemp(name)
    db_url = f"sqlite:///{workdir / 'aqueduct.db'}"
    gw = Gateway(governance_config(upstream.url, db_url, **settings), workdir, env=env)
    gw.db_url = db_url  # type: ignore[attr-defined]
    return gw.start()


def fresh_user_token(gw: Gateway) -> str:
    return gw.create_user_token("sec", f"u{uuid.uuid4().hex[:10]}@example.com")
