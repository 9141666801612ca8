"""The request path's Redis connection (core.governance.limits.redis_wire) against a real Redis: replies reach their own
callers when many calls share the connection, a forgotten script is sent whole, a dropped connection is
replaced, the URL's database is selected, and failures are redis-py's exception types (what the failover
limiter catches)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from core.governance.limits.redis_backend import RedisBackend
from core.governance.limits.redis_wire import RedisWire
from tests.support.databases import redis_url_or_skip

pytestmark = pytest.mark.redis


def _with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


async def test_concurrent_calls_each_get_their_own_reply() -> None:
    wire = RedisWire(redis_url_or_skip(), timeout=5)
    key = f"aqueduct-test:{uuid.uuid4().hex}"
    try:
        replies = await asyncio.gather(*(wire.execute("ECHO", f"call-{i}") for i in range(200)))
        assert replies == [f"call-{i}".encode() for i in range(200)]
        assert await wire.execute("INCRBY", key, 5) == 5
        with pytest.raises(ResponseError):
            await wire.execute("INCRBY", key, "not a number")
        assert await wire.execute("GET", key) == b"5"  # an error reply does not shift the others
    finally:
        await wire.execute("DEL", key)
        wire.close()


async def test_a_forgotten_script_is_sent_whole_and_a_dropped_connection_replaced() -> None:
    url = redis_url_or_skip()
    client = Redis.from_url(url)
    wire = RedisWire(url, timeout=5)
    prefix = f"aqueduct-test:{uuid.uuid4().hex}:"
    backend = RedisBackend(client, prefix, wire=wire)
    limits, costs = [(10**9, 10**9, 10**9, 10**9)], [(1000, 10, 0, 0)]
    try:
        assert (await backend.admit(["k"], limits, costs)).admitted
        await client.script_flush()  # as after a Redis restart: EVALSHA answers NOSCRIPT
        assert (await backend.admit(["k"], limits, costs)).admitted
        assert wire._protocol is not None
        wire._protocol.abort()  # the connection dies under us
        await asyncio.sleep(0)
        assert (await backend.admit(["k"], limits, costs)).admitted
        assert (await backend.usage(["k"]))[0].used[1] == 30
    finally:
        wire.close()
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_the_urls_database_is_selected() -> None:
    url = _with_db(redis_url_or_skip(), 3)
    wire = RedisWire(url, timeout=5)
    client = Redis.from_url(url)
    key = f"aqueduct-test:{uuid.uuid4().hex}"
    try:
        await wire.execute("SET", key, "db3")
        assert await client.get(key) == b"db3"
    finally:
        await client.delete(key)
        await client.aclose()
        wire.close()


async def test_an_unreachable_redis_is_a_redis_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    wire = RedisWire(f"redis://127.0.0.1:{port}/0", timeout=2)
    with pytest.raises(RedisConnectionError):
        await wire.execute("PING")


def test_only_redis_urls_are_accepted() -> None:
    with pytest.raises(ValueError):
        RedisWire("unix:///tmp/redis.sock", timeout=1)
