"""Issue 16 item 13 (auth): failed authentications are throttled per client address.

The review flooded the gateway with random `sk-` tokens (3,000, concurrency 50) next to a valid client: every
unique bogus token cost one database lookup, and nothing slowed the flood down. Now after
`auth_failure_limit` failures within `auth_failure_window_seconds` from one address, that address gets 429 with
retry-after for `auth_failure_block_seconds`, before any lookup; clients at other addresses are unaffected."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Iterator

import httpx2
import pytest

from tests.security.conftest import fresh_user_token, start_gateway
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import Gateway

FAILURE_LIMIT = 20
FLOOD = 600
CONCURRENCY = 50
VALID_REQUESTS = 100
BODY = {"model": "chat-model", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def gateway(fake_upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(
        fake_upstream,
        tmp_path_factory,
        "auth-throttle",
        auth_failure_limit=FAILURE_LIMIT,
        auth_failure_window_seconds=60,
        auth_failure_block_seconds=60,
    )
    try:
        yield gw
    finally:
        gw.stop()


async def _requests(url: str, tokens: list[str], local_address: str) -> list[httpx2.Response]:
    """Posts one chat request per token from `local_address`, CONCURRENCY at a time."""
    limits = httpx2.Limits(max_connections=CONCURRENCY)
    transport = httpx2.AsyncHTTPTransport(local_address=local_address, limits=limits)
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx2.AsyncClient(transport=transport, timeout=60) as client:

        async def one(token: str) -> httpx2.Response:
            async with gate:
                return await client.post(url, headers={"Authorization": f"Bearer {token}"}, json=BODY)

        return list(await asyncio.gather(*(one(t) for t in tokens)))


def test_a_flood_of_bogus_tokens_is_throttled_and_a_valid_client_elsewhere_is_not(gateway: Gateway) -> None:
    url = gateway.v1 + "/chat/completions"
    valid = fresh_user_token(gateway)
    flooded_valid = fresh_user_token(gateway)
    bogus = ["sk-" + secrets.token_hex(24) for _ in range(FLOOD)]

    async def both() -> tuple[list[httpx2.Response], list[httpx2.Response]]:
        flood = asyncio.ensure_future(_requests(url, bogus, "127.0.0.1"))
        good = asyncio.ensure_future(_requests(url, [valid] * VALID_REQUESTS, "127.0.0.2"))
        return await flood, await good

    flood, good = asyncio.run(both())
    flood_codes = Counter(r.status_code for r in flood)
    good_codes = dict(Counter(r.status_code for r in good))
    print(f"flood from 127.0.0.1: {dict(flood_codes)}; valid client from 127.0.0.2: {good_codes}")

    assert [r.status_code for r in good] == [200] * VALID_REQUESTS
    assert set(flood_codes) <= {401, 429}
    # Attempts already past the check when the limit was reached still end in their 401.
    assert FAILURE_LIMIT <= flood_codes[401] <= FAILURE_LIMIT + CONCURRENCY
    throttled = [r for r in flood if r.status_code == 429]
    assert len(throttled) >= FLOOD - FAILURE_LIMIT - CONCURRENCY
    assert all(0 < int(r.headers["retry-after"]) <= 60 for r in throttled)
    assert "failed authentication" in throttled[0].json()["error"]["message"]

    # While blocked, the address is refused before any token is looked up: even a valid token.
    [late] = asyncio.run(_requests(url, [flooded_valid], "127.0.0.1"))
    assert late.status_code == 429
    [elsewhere] = asyncio.run(_requests(url, [flooded_valid], "127.0.0.3"))
    assert elsewhere.status_code == 200
