"""A real `aqueduct serve` in front of a hostile loopback upstream (tests/support/fake_upstream.py's fault
knobs): it echoes the gateway's key in its errors, sends huge errors, trickles, and ends streams early."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway
from tests.support.waiting import wait_until

UPSTREAM_KEY = "sk-upstream-SECRET-0123456789abcdef"
BASIC_PASSWORD = "pw-SECRET-basic-42"
# The deployment's `timeout` for the model whose streams are trickled past it.
SHORT_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("security-upstream")

    def model(name: str, api_base: str, **params: Any) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {"model": f"openai/{name}-upstream", "api_base": api_base, **params},
            "model_info": {"mode": "chat"},
        }

    base = upstream.url + "/v1"
    with_password = base.replace("http://", f"http://gateway:{BASIC_PASSWORD}@")
    config = {
        "database_url": f"sqlite:///{workdir / 'usage.db'}",
        "usage_flush_interval_seconds": 0.1,
        "router_settings": {"num_retries": 0},
        "model_list": [
            model("keyed", base, api_key=UPSTREAM_KEY, timeout=30, stream_timeout=10),
            model("basic", with_password, timeout=30, stream_timeout=10),
            model("short", base, api_key=UPSTREAM_KEY, timeout=SHORT_TIMEOUT_S, stream_timeout=10),
        ],
    }
    gw = Gateway(config, workdir).start()
    gw.db_url = config["database_url"]  # type: ignore[attr-defined]
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="module")
def token(gateway: Gateway) -> str:
    return gateway.create_user_token("sec", "hostile-upstream@example.com")


def usage_row(gateway: Gateway, request_id: str) -> dict[str, Any]:
    """The request's usage record, once the recorder has flushed it."""
    engine = sa.create_engine(gateway.db_url)  # type: ignore[attr-defined]
    query = sa.text(
        "SELECT status, output_tokens, tokens_estimated, error_message FROM usage_records WHERE request_id = :r"
    )

    def fetch() -> dict[str, Any] | None:
        with engine.connect() as conn:
            row = conn.execute(query, {"r": request_id}).mappings().first()
            return dict(row) if row else None

    try:
        return wait_until(fetch, what=f"usage row of {request_id}")
    finally:
        engine.dispose()
