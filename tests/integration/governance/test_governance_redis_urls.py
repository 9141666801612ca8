"""Every `redis_url` form against a real redis-server of the test's own: the rate-limit windows land in the
URL's database, through TCP, a Unix socket, AUTH (password and ACL user), TLS and Sentinel; a wrong
credential or an unknown Sentinel master is an error the failover limiter falls back on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import trustme

from core.governance.limits.backend import Amounts
from core.governance.limits.failover import FailoverLimiter
from core.governance.limits.memory_backend import MemoryBackend
from core.governance.limits.model import NONE, REQUEST_UNITS
from core.governance.limits.redis_backend import RedisBackend
from core.redis_connection import redis_client
from tests.support.redis_servers import free_port, redis_sentinel, redis_server

PREFIX = "aqueduct-test:"
LIMITS: list[Amounts] = [(5 * REQUEST_UNITS, NONE, NONE, NONE)]
ONE: list[Amounts] = [(REQUEST_UNITS, 0, 0, 0)]


async def admit_once(url: str) -> None:
    client = redis_client(url, timeout=5)
    backend = RedisBackend(client, PREFIX, timeout=5)
    try:
        assert (await backend.admit(["k"], LIMITS, ONE)).admitted
    finally:
        await backend.aclose()
        await client.aclose()


def stored_in(server: redis.Redis, db: int) -> bool:
    with server:
        server.execute_command("SELECT", db)
        return bool(server.exists(PREFIX + "k"))


async def test_tcp_url_uses_its_database(tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        await admit_once(f"redis://127.0.0.1:{server.port}/3")
        probe = redis.Redis(host="127.0.0.1", port=server.port, single_connection_client=True)
        assert stored_in(probe, 3)
        assert not stored_in(redis.Redis(host="127.0.0.1", port=server.port, single_connection_client=True), 0)


async def test_unix_socket_url_with_db_option(tmp_path: Path) -> None:
    with redis_server(tmp_path, tcp=False, unix=True) as server:
        await admit_once(f"unix://{server.unix_socket}?db=4")
        assert stored_in(redis.Redis(unix_socket_path=str(server.unix_socket), single_connection_client=True), 4)


async def test_password_auth(tmp_path: Path) -> None:
    port = free_port()
    ready = redis.Redis(host="127.0.0.1", port=port, password="s3cret")
    with redis_server(tmp_path, "--requirepass", "s3cret", port=port, ready=ready) as server:
        await admit_once(f"redis://:s3cret@127.0.0.1:{server.port}/1")
        assert stored_in(redis.Redis(port=server.port, password="s3cret", single_connection_client=True), 1)
        with pytest.raises(redis.AuthenticationError):
            await admit_once(f"redis://:wrong@127.0.0.1:{server.port}/1")


async def test_acl_user_auth(tmp_path: Path) -> None:
    port = free_port()
    acl = ["--user", "alice", "on", ">pa%ss", "~aqueduct-test:*", "&*", "+@all", "--user", "default", "off"]
    ready = redis.Redis(host="127.0.0.1", port=port, username="alice", password="pa%ss")
    with redis_server(tmp_path, *acl, port=port, ready=ready):
        # The password is percent-encoded in the URL ('%' is '%25').
        await admit_once(f"redis://alice:pa%25ss@127.0.0.1:{port}/2")
        admin = redis.Redis(port=port, username="alice", password="pa%ss", single_connection_client=True)
        assert stored_in(admin, 2)
        with pytest.raises(redis.AuthenticationError):
            await admit_once(f"redis://:pa%25ss@127.0.0.1:{port}/2")  # the default user is off


@pytest.fixture
def tls_files(tmp_path: Path) -> Iterator[dict[str, Path]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {"ca": tmp_path / "ca.pem", "cert": tmp_path / "server.pem", "key": tmp_path / "server.key"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    yield files


async def test_tls_url_verifies_the_server_with_the_urls_ca(tmp_path: Path, tls_files: dict[str, Path]) -> None:
    port = free_port()
    tls = ["--tls-port", str(port), "--tls-cert-file", str(tls_files["cert"]), "--tls-key-file", str(tls_files["key"])]
    tls += ["--tls-ca-cert-file", str(tls_files["ca"]), "--tls-auth-clients", "no"]
    ready = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=str(tls_files["ca"]))
    with redis_server(tmp_path / "srv", *tls, tcp=False, ready=ready):
        await admit_once(f"rediss://127.0.0.1:{port}/5?ssl_ca_certs={tls_files['ca']}")
        probe = redis.Redis(port=port, ssl=True, ssl_ca_certs=str(tls_files["ca"]), single_connection_client=True)
        assert stored_in(probe, 5)
        # Without the CA the server's certificate is not trusted: the URL's TLS options are what made it work.
        with pytest.raises(redis.ConnectionError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            await admit_once(f"rediss://127.0.0.1:{port}/5")
        await admit_once(f"rediss://127.0.0.1:{port}/5?ssl_cert_reqs=none")


async def test_sentinel_url_finds_the_master(tmp_path: Path) -> None:
    with redis_server(tmp_path / "master") as master:
        assert master.port is not None
        with redis_sentinel(tmp_path / "sentinel", master.port, "mymaster") as sentinel:
            await admit_once(f"redis+sentinel://127.0.0.1:{sentinel.port}/mymaster/6")
            assert stored_in(redis.Redis(port=master.port, single_connection_client=True), 6)

            client = redis_client(f"redis+sentinel://127.0.0.1:{sentinel.port}/no-such-master", timeout=2)
            limiter = FailoverLimiter(MemoryBackend(), RedisBackend(client, PREFIX, timeout=5), retry_interval=60)
            try:
                result, used = await limiter.admit(["k"], LIMITS, ONE)
                assert result.admitted and used is limiter.memory  # MasterNotFoundError: the fallback serves
                assert not limiter.redis_up
            finally:
                await limiter.aclose()
                await client.aclose()
