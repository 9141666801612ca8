"""`redis_url` parsing (core.redis_connection), without connecting: what each form hands to redis-py."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection

from core.redis_connection import parse_redis_url, redis_client


def test_tcp_url_with_acl_user_and_percent_encoded_password() -> None:
    target = parse_redis_url("redis://alice:p%40ss@cache.internal:6380/3?protocol=3")
    assert target.connection == {
        "host": "cache.internal",
        "port": 6380,
        "db": 3,
        "username": "alice",
        "password": "p@ss",
        "protocol": 3,
    }
    assert target.sentinels == ()


def test_tls_options_reach_the_connection() -> None:
    target = parse_redis_url("rediss://cache:6380/0?ssl_ca_certs=/etc/ca.pem&ssl_cert_reqs=required")
    assert target.connection["connection_class"] is SSLConnection
    assert (target.connection["ssl_ca_certs"], target.connection["ssl_cert_reqs"]) == ("/etc/ca.pem", "required")


def test_unix_socket_with_db_option() -> None:
    target = parse_redis_url("unix:///run/redis/redis.sock?db=4")
    assert target.connection["connection_class"] is UnixDomainSocketConnection
    assert (target.connection["path"], target.connection["db"]) == ("/run/redis/redis.sock", 4)


def test_sentinel_url() -> None:
    target = parse_redis_url(
        "redis+sentinel://:masterpw@s1:26379,s2,[::1]:26380/mymaster/2?sentinel_password=spw&socket_keepalive=true"
    )
    assert target.sentinels == (("s1", 26379), ("s2", 26379), ("::1", 26380))
    assert target.service_name == "mymaster"
    assert target.connection == {"password": "masterpw", "db": 2, "socket_keepalive": True}
    assert target.sentinel_auth == {"password": "spw"}
    assert parse_redis_url("rediss+sentinel://s1/m").connection == {"ssl": True}


async def test_the_client_takes_the_settings_timeout_unless_the_url_sets_one() -> None:
    client = redis_client("redis://cache:6379/1", timeout=0.5)
    assert client.connection_pool.connection_kwargs["socket_timeout"] == 0.5
    await client.aclose()
    client = redis_client("redis://cache:6379/1?socket_timeout=2", timeout=0.5)
    assert client.connection_pool.connection_kwargs["socket_timeout"] == 2.0
    await client.aclose()


@pytest.mark.parametrize("url", ["redis://:secret-pw@cache:x/0", "redis://:secret-pw@cache/0?bogus=1"])
def test_errors_never_echo_the_password(url: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_redis_url(url)
    assert "secret-pw" not in str(err.value)
