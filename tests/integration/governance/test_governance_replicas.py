"""Two gateway replicas sharing one database and one Redis: exact admission across both, limits set through
one replica apply on the other, and Redis going away mid-run (fallback, logged, on /health) and coming back.

Redis is reached through a TcpProxy so this test can cut it without disturbing anything else on the server;
every run uses its own key prefix."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.integration.governance.conftest import MESSAGES, Tenant, governance_config
from tests.support.databases import PG_ENV, fresh_postgres_database, redis_url_or_skip
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import ADMIN_TOKEN, Gateway
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_until

pytestmark = pytest.mark.redis

LIMIT = 10


@pytest.fixture(scope="module")
def replicas(
    upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, Gateway, TcpProxy]]:
    redis = urlsplit(redis_url_or_skip())
    proxy = TcpProxy(redis.hostname or "127.0.0.1", redis.port or 6379).start()
    with ExitStack() as stack:
        stack.callback(proxy.stop)
        workdir: Path = tmp_path_factory.mktemp("replicas")
        if os.environ.get(PG_ENV):
            db_url = stack.enter_context(fresh_postgres_database(os.environ[PG_ENV]))
        else:
            db_url = f"sqlite:///{workdir / 'shared.db'}"
        config = governance_config(
            upstream.url,
            db_url,
            redis_url=f"redis://127.0.0.1:{proxy.port}{redis.path or '/0'}",
            rate_limit_redis_prefix=f"aqueduct-test:{uuid.uuid4().hex}:",
            redis_retry_interval_seconds=0.2,
        )
        gateways = []
        for name in ("a", "b"):
            directory = workdir / name
            directory.mkdir()
            gw = Gateway(config, directory)
            stack.callback(gw.stop)
            gateways.append(gw.start())
        yield gateways[0], gateways[1], proxy


def rate_limits_health(gw: Gateway) -> str:
    return str(httpx2.get(gw.base_url + "/health", timeout=5).json()["details"]["rate_limits"])


async def burst(urls: list[str], token: str, n: int) -> list[int]:
    async with httpx2.AsyncClient(timeout=30) as http:
        calls = [
            http.post(
                urls[i % len(urls)] + "/chat/completions",
                headers={"Authorization": f"Bearer {token}"},
                json={"model": "chat-model", "messages": MESSAGES},
            )
            for i in range(n)
        ]
        return [r.status_code for r in await asyncio.gather(*calls)]


def enforced_rpm(gw: Gateway, token: str) -> str | None:
    """The request limit the replica applies to `token` (its x-ratelimit-limit-requests header, on a 200 or a 429)."""
    resp = httpx2.post(
        gw.v1 + "/chat/completions",
        headers={"Authorization": f"Bearer {token}"},
        json={"model": "chat-model", "messages": MESSAGES},
        timeout=30,
    )
    return resp.headers.get("x-ratelimit-limit-requests")


def test_two_replicas_share_exact_limits_and_survive_redis_going_away(
    replicas: tuple[Gateway, Gateway, TcpProxy],
) -> None:
    a, b, proxy = replicas
    assert rate_limits_health(a) == rate_limits_health(b) == "redis"
    org = f"org{uuid.uuid4().hex[:8]}"
    a.cli("org", "create", org)
    tenant = Tenant(a, org)
    email, token = tenant.user("ann")
    a.cli("limits", "set", "--user", email, "--rpm", str(LIMIT), token=ADMIN_TOKEN)
    # Each replica re-reads the whole limits table every governance_cache_ttl_seconds. A probe user's limit,
    # written after ann's, is enforced by a replica only once its copy also holds ann's.
    probe_email, probe = tenant.user("probe")
    a.cli("limits", "set", "--user", probe_email, "--rpm", str(LIMIT), token=ADMIN_TOKEN)
    for gw in (a, b):
        wait_until(lambda gw=gw: enforced_rpm(gw, probe) == str(LIMIT), interval=0.1, what="the limit on a replica")

    codes = asyncio.run(burst([a.v1, b.v1], token, 40))
    assert codes.count(200) == LIMIT and codes.count(429) == 40 - LIMIT, a.log[-3000:] + b.log[-3000:]

    proxy.stop()  # Redis goes away: each replica falls back to its own in-process windows
    for gw in (a, b):
        reply = httpx2.post(
            gw.v1 + "/chat/completions",
            headers={"Authorization": f"Bearer {token}"},
            json={"model": "chat-model", "messages": MESSAGES},
            timeout=30,
        )
        assert reply.status_code == 200
        assert rate_limits_health(gw) == "in-process (fallback: redis unreachable)"
        assert "Redis is unreachable" in gw.log

    proxy.start()  # back: the probe reconnects and the shared window (still full) applies again
    assert wait_until(lambda: rate_limits_health(a) == rate_limits_health(b) == "redis")
    assert asyncio.run(burst([a.v1, b.v1], token, 4)) == [429] * 4
    assert "Redis answers again" in a.log
