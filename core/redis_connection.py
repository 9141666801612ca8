"""`redis_url` -> the one redis-py client everything Redis goes through (admission, settlement, usage, probes).

Accepted forms (query options are redis-py's own: `ssl_cert_reqs`, `ssl_ca_certs`, `ssl_certfile`,
`ssl_keyfile`, `ssl_check_hostname`, `protocol`, `socket_timeout`, `max_connections`, ...):

    redis://[[user]:password@]host[:port][/db]                 TCP
    rediss://[[user]:password@]host[:port][/db]                TLS
    unix://[[user]:password@]/path/to/redis.sock[?db=N]        Unix socket
    redis+sentinel://[[user]:password@]host:port[,host:port...]/service_name[/db][?sentinel_password=...]
    rediss+sentinel://...                                      Sentinel, TLS to the sentinels and the master

For Sentinel, user and password are the master's; `sentinel_password` (and `sentinel_username`) are the
sentinels' own when they require AUTH. `parse_redis_url` checks a URL without connecting (settings call it,
so a bad URL stops startup with a message naming the problem); `redis_client` builds the client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from redis.asyncio import Redis
from redis.asyncio.connection import Connection, ConnectionPool, parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

DIRECT_SCHEMES = ("redis", "rediss", "unix")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
DEFAULT_SENTINEL_PORT = 26379
_SENTINEL_AUTH_OPTIONS = {"sentinel_password": "password", "sentinel_username": "username"}


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """A checked `redis_url`: connection keyword arguments for redis-py, plus the sentinels to ask for the
    master when `sentinels` is not empty."""

    connection: dict[str, Any]
    sentinels: tuple[tuple[str, int], ...] = ()
    service_name: str = ""
    sentinel_auth: dict[str, str] = field(default_factory=dict)


def _scheme(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ValueError("a Redis URL looks like redis://host:6379/0 (no '://' found)")
    scheme = scheme.lower()
    if scheme not in DIRECT_SCHEMES + SENTINEL_SCHEMES:
        known = ", ".join(f"{s}://" for s in DIRECT_SCHEMES + SENTINEL_SCHEMES)
        raise ValueError(f"unsupported Redis URL scheme {scheme}://; use one of {known}")
    return scheme


def _db_of(path: str) -> dict[str, int]:
    """The `/db` path of redis:// and rediss:// (redis-py itself silently ignores a non-number)."""
    db = unquote(path).strip("/")
    if not db:
        return {}
    if not db.isdigit():
        raise ValueError(f"the database in a Redis URL is a number (redis://host:6379/0), not {db!r}")
    return {"db": int(db)}


def _check_options(kwargs: dict[str, Any]) -> None:
    """Builds (never connects) one connection object, so an unknown query option fails now, not on the
    first request."""
    options = dict(kwargs)
    connection_class = options.pop("connection_class", Connection)
    try:
        connection_class(**options)
    except TypeError as exc:
        raise ValueError(f"unsupported option in the Redis URL: {exc}") from None


def _direct(url: str, scheme: str) -> RedisTarget:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError(f"the port in the Redis URL is not a number: {parts.netloc.rpartition('@')[2]!r}") from None
    if scheme != "unix" and not parts.hostname:
        raise ValueError(f"the Redis URL names no host: {scheme}://HOST:6379/0")
    if scheme == "unix" and not parts.path:
        raise ValueError("a unix:// Redis URL needs the socket's path: unix:///path/to/redis.sock")
    kwargs: dict[str, Any] = dict(parse_url(url))
    if scheme != "unix" and "db" not in kwargs:
        kwargs.update(_db_of(parts.path))
    _check_options(kwargs)
    return RedisTarget(kwargs)


def _sentinel_hosts(hostlist: str) -> tuple[tuple[str, int], ...]:
    hosts = []
    for item in hostlist.split(","):
        parts = urlsplit(f"//{item.strip()}")
        try:
            port = parts.port or DEFAULT_SENTINEL_PORT
        except ValueError:
            raise ValueError(f"the sentinel port is not a number: {item!r}") from None
        if not parts.hostname:
            raise ValueError(f"empty sentinel address in the Redis URL: {hostlist!r}")
        hosts.append((parts.hostname, port))
    return tuple(hosts)


def _sentinel(url: str, scheme: str) -> RedisTarget:
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    if not hostlist:
        raise ValueError(f"the Redis URL names no sentinel: {scheme}://HOST:26379/SERVICE_NAME/0")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not segments or len(segments) > 2:
        raise ValueError(f"a {scheme}:// URL ends with /SERVICE_NAME or /SERVICE_NAME/DB (the master's name)")
    service_name, db = segments[0], segments[1:]
    query = parse_qsl(parts.query, keep_blank_values=True)
    sentinel_auth = {_SENTINEL_AUTH_OPTIONS[k]: v for k, v in query if k in _SENTINEL_AUTH_OPTIONS}
    rest = urlencode([(k, v) for k, v in query if k not in _SENTINEL_AUTH_OPTIONS])
    # The master's options go through redis-py's own parser, as for a direct URL.
    direct_scheme = "rediss" if scheme.startswith("rediss") else "redis"
    auth = f"{userinfo}@" if userinfo else ""
    master = _direct(f"{direct_scheme}://{auth}sentinel-master/{quote(db[0]) if db else ''}?{rest}", direct_scheme)
    connection = {k: v for k, v in master.connection.items() if k not in ("host", "port", "connection_class")}
    if direct_scheme == "rediss":
        connection["ssl"] = True  # SentinelConnectionPool picks its TLS connection class from this flag
    return RedisTarget(connection, _sentinel_hosts(hostlist), service_name, sentinel_auth)


class _SentinelMasterRedis(Redis):
    """The master's client; closing it also closes the connections to the sentinels that found it."""

    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinels is not None:
            for client in self.sentinels.sentinels:
                await client.aclose()


def parse_redis_url(url: str) -> RedisTarget:
    """Raises ValueError with a message for the operator (never echoing the password)."""
    scheme = _scheme(url)
    if scheme in SENTINEL_SCHEMES:
        return _sentinel(url, scheme)
    return _direct(url, scheme)


def redis_client(url: str, *, timeout: float) -> Redis:
    """`timeout` bounds connecting and each call unless the URL sets socket_timeout /
    socket_connect_timeout. No retries inside the client: a failed call goes to
    core.governance.limits.failover at once, which falls back instead of waiting."""
    target = parse_redis_url(url)
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        **target.connection,
    }
    if not target.sentinels:
        return Redis.from_pool(ConnectionPool(**options))
    sentinel_options = {
        "socket_timeout": options["socket_timeout"],
        "socket_connect_timeout": options["socket_connect_timeout"],
        **target.sentinel_auth,
    }
    if options.get("ssl"):
        sentinel_options.update({k: v for k, v in options.items() if k.startswith("ssl")})
    sentinel = Sentinel(target.sentinels, sentinel_kwargs=sentinel_options)
    client = sentinel.master_for(target.service_name, redis_class=_SentinelMasterRedis, **options)
    assert isinstance(client, _SentinelMasterRedis)
    client.sentinels = sentinel
    return client
