"""The original Aqueduct's router config (LiteLLM Router() arguments at the top level of the file) is
honoured: retries and fallbacks are observable against the fake upstream with faults, `timeout` bounds an
upstream call, and `router_settings` wins over a top-level key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway
from tests.support.sdk import sdk_client

HELLO = [{"role": "user", "content": "hello"}]


def model(name: str, upstream: FakeUpstream, tag: str, **knobs: object) -> dict[str, Any]:
    headers = {f"x-fake-{k.replace('_', '-')}": str(v) for k, v in knobs.items()}
    return {
        "model_name": name,
        "litellm_params": {"model": f"openai/{tag}", "api_base": upstream.base_url, "extra_headers": headers},
    }


def attempts(upstream: FakeUpstream, tag: str) -> int:
    return sum(1 for r in upstream.requests if isinstance(r.json, dict) and r.json.get("model") == tag)


def test_top_level_retries_fallbacks_and_timeout(tmp_path: Path, upstream: FakeUpstream) -> None:
    config = {
        "database_url": f"sqlite:///{tmp_path / 'a.db'}",
        "model_list": [
            model("primary", upstream, "broken-up", status=500),
            model("backup", upstream, "backup-up"),
            model("slow", upstream, "slow-up", latency_ms=3000),
        ],
        # The original Aqueduct's keys, at the top level as LiteLLM's Router() takes them.
        "num_retries": 3,  # the default is 2: four attempts show the key is used
        "retry_after": 0,
        "fallbacks": [{"primary": ["backup"]}],
        "routing_strategy": "simple-shuffle",
        "timeout": 0.5,
        "allowed_fails": 100,
    }
    upstream.reset()
    gateway = Gateway(config, tmp_path).start()
    try:
        client = sdk_client(
            base_url=gateway.v1, api_key=gateway.create_user_token("rk", "rk@example.com"), max_retries=0
        )
        reply = client.chat.completions.with_raw_response.create(model="primary", messages=HELLO)
        assert reply.headers["x-aqueduct-model-group"] == "backup"  # fallbacks
        assert attempts(upstream, "broken-up") == 4  # num_retries: 3 -> four attempts, then the fallback
        with pytest.raises(openai.APIStatusError) as err:
            client.chat.completions.create(model="slow", messages=HELLO)
        assert err.value.status_code == 504  # timeout: 0.5 (the upstream takes 3 s; the default is 600 s)
        assert attempts(upstream, "slow-up") == 4
    finally:
        assert gateway.stop() == 0
    assert "is not supported by Aqueduct" not in gateway.log


def test_router_settings_win_over_top_level_keys(tmp_path: Path, upstream: FakeUpstream) -> None:
    config = {
        "database_url": f"sqlite:///{tmp_path / 'a.db'}",
        "model_list": [model("flaky", upstream, "flaky-up", status=502)],
        "num_retries": 4,
        "retry_after": 0,
        "router_settings": {"num_retries": 1},
    }
    upstream.reset()
    gateway = Gateway(config, tmp_path).start()
    try:
        client = sdk_client(
            base_url=gateway.v1, api_key=gateway.create_user_token("rk", "rk2@example.com"), max_retries=0
        )
        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(model="flaky", messages=HELLO)
        assert attempts(upstream, "flaky-up") == 2
    finally:
        assert gateway.stop() == 0
