"""Real `redis-server` processes of a test's own, on loopback ports or Unix sockets in a temp dir, never
persisting anything (`--save "" --appendonly no`): for the URL forms (TCP, unix, AUTH, ACL users, TLS,
Sentinel) that the shared test Redis cannot show. Stopped (by their own pid) when the context ends."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

READY_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_server_or_skip() -> str:
    path = shutil.which("redis-server")
    if path is None:
        pytest.skip("these tests start their own redis-server (Debian package redis-server)")
    return path


@dataclass
class RedisProcess:
    process: subprocess.Popen[bytes]
    port: int | None  # TCP (or TLS) port; None when it listens only on `unix_socket`
    unix_socket: Path | None
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _wait_ready(server: RedisProcess, ping: redis.Redis) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {server.process.returncode}:\n{server.log_text()}")
        try:
            if ping.ping():
                return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"redis-server did not answer within {READY_TIMEOUT} s:\n{server.log_text()}"
                ) from None
            time.sleep(0.02)  # polling a process we just started: there is no event to await


@contextmanager
def redis_server(
    workdir: Path,
    *args: str,
    tcp: bool = True,
    port: int | None = None,
    unix: bool = False,
    ready: redis.Redis | None = None,
) -> Iterator[RedisProcess]:
    """`args` are extra redis-server options (e.g. "--requirepass", "pw"); plain TCP on `port` (a free one
    by default) unless `tcp` is off. `ready` is a client that answers PING once the server is up (needed
    when it requires AUTH or TLS); by default one is made."""
    binary = redis_server_or_skip()
    workdir.mkdir(parents=True, exist_ok=True)
    port = (port or free_port()) if tcp else None
    sock = workdir / "redis.sock" if unix else None
    log = workdir / "redis.log"
    command = [binary, "--save", "", "--appendonly", "no", "--dir", str(workdir), "--logfile", str(log)]
    command += ["--bind", "127.0.0.1", "--port", str(port or 0)]  # port 0: no plain TCP (unix or TLS only)
    if sock is not None:
        command += ["--unixsocket", str(sock), "--unixsocketperm", "700"]
    command += list(args)
    server = RedisProcess(subprocess.Popen(command, stdin=subprocess.DEVNULL), port, sock, log)
    try:
        if ready is None:
            ready = (
                redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
                if port is not None
                else redis.Redis(unix_socket_path=str(sock), socket_timeout=1)
            )
        try:
            _wait_ready(server, ready)
        finally:
            ready.close()
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@contextmanager
def redis_sentinel(workdir: Path, master_port: int, service_name: str) -> Iterator[RedisProcess]:
    """One `redis-server --sentinel` watching the master at 127.0.0.1:`master_port` as `service_name`."""
    binary = redis_server_or_skip()
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "sentinel.conf"  # Sentinel rewrites its own config file, so it is a file of its own
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {workdir}\nlogfile {workdir / 'sentinel.log'}\n"
        f"sentinel monitor {service_name} 127.0.0.1 {master_port} 1\n"
    )
    process = subprocess.Popen([binary, str(config), "--sentinel"], stdin=subprocess.DEVNULL)
    server = RedisProcess(process, port, None, workdir / "sentinel.log")
    try:
        ping = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        try:
            _wait_ready(server, ping)
        finally:
            ping.close()
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
