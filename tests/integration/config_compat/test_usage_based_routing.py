"""usage-based-routing-v2 across two `aqueduct serve` replicas sharing the test Redis (LiteLLM's
redis_host / redis_port / redis_password in router_settings): each request goes to the deployment with the
most headroom in the current minute as both replicas together used it, so alternating between the replicas
still alternates between the deployments."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import httpx2

from core.governance.limits.model import REQUEST_UNITS
from core.governance.limits.redis_backend import RedisBackend
from core.redis_connection import redis_client
from tests.integration.config_compat.conftest import fixture_gateway, redis_env
from tests.support.databases import redis_url_or_skip
from tests.support.fake_upstream import FakeUpstream
from tests.support.sdk import sdk_client

HELLO = [{"role": "user", "content": "hello"}]


async def requests_counted(prefix: str) -> dict[str, int]:
    client = redis_client(redis_url_or_skip(), timeout=5)
    backend = RedisBackend(client, prefix, timeout=5)
    try:
        ids = ["gpt-3.5-turbo#0", "gpt-3.5-turbo#1"]
        states = await backend.usage([f"dep:{i}" for i in ids])
        return {i: s.used[0] // REQUEST_UNITS for i, s in zip(ids, states, strict=True)}
    finally:
        await backend.aclose()
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


def test_two_replicas_share_the_deployment_counts(tmp_path: Path, upstream: FakeUpstream) -> None:
    env = redis_env()
    prefix_value = f"aqueduct-test:{uuid.uuid4().hex}:"
    prefix = f"\nrate_limit_redis_prefix: '{prefix_value}'\n"
    gateways = []
    for name in ("one", "two"):
        workdir = tmp_path / name
        workdir.mkdir()
        gateways.append(fixture_gateway("usage_based_routing.yaml", workdir, upstream, env=env, append=prefix))
    try:
        for gateway in gateways:
            gateway.start()
            assert httpx2.get(gateway.base_url + "/health", timeout=5).json()["details"]["rate_limits"] == "redis"
        clients = [
            sdk_client(base_url=g.v1, api_key=g.create_user_token("ubr", f"ubr{i}@example.com"), max_retries=0)
            for i, g in enumerate(gateways)
        ]

        def send(replica: int) -> str:
            reply = clients[replica].chat.completions.with_raw_response.create(model="gpt-3.5-turbo", messages=HELLO)
            return reply.headers["x-aqueduct-deployment"]

        first = [send(0) for _ in range(5)]  # replica one alone: 3 and 2
        (busier, count), _ = Counter(first).most_common()
        assert count == 3
        # Replica two has served nothing itself, yet it sends its first request to the less used deployment.
        assert send(1) != busier
        served = [send(i % 2) for i in range(6)]
        assert all(served[i] != served[i + 1] for i in range(0, 6, 2)), served
        total = Counter(first + served)
        assert sum(total.values()) == 11 and abs(total["gpt-3.5-turbo#0"] - total["gpt-3.5-turbo#1"]) <= 1
        # The counts live in the limiter's Redis windows, one key per deployment.
        assert asyncio.run(requests_counted(prefix_value)) == {"gpt-3.5-turbo#0": 6, "gpt-3.5-turbo#1": 6}
    finally:
        for gateway in gateways:
            assert gateway.stop() == 0
    assert "router_settings.enable_pre_call_checks is not supported" in gateways[0].log
