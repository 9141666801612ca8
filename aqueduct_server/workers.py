"""`aqueduct serve --workers N`: N forked processes, each a whole core + façade, sharing the HTTP port and
core's gRPC port through SO_REUSEPORT (the kernel spreads connections over them).

State lives only in the database and Redis, so N workers behave like N replicas. The parent does what must
happen once before they start (database migrations, the bootstrap admin token), then forks, forwards
SIGTERM/SIGINT to the workers and exits when they all have. Fork happens before any event loop, gRPC object
or thread exists in the parent, which is what gRPC requires of a fork."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType

from core.settings import Settings


def prepare(settings: Settings) -> None:
    """The once-only start-up steps, in the parent."""
    from core.bootstrap import resolve_admin_token
    from core.db.migrate import upgrade

    upgrade(settings.database_url)
    credential = resolve_admin_token(settings)
    if credential.generated:
        print(
            f"\n  Bootstrap admin token (shown once; stored at {credential.path}):\n    {credential.token}\n",
            file=sys.stderr,
            flush=True,
        )


def reuseport_socket(host: str, port: int, *, listen: bool = True) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT: listening (a worker's own, for uvicorn's `sockets=`), or only
    bound (the parent's, which reserves the port without taking connections: the kernel spreads them over
    the listening sockets of the group only)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(2048)
    return sock


def run_workers(count: int, worker: Callable[[int], int]) -> int:
    """Forks `count` processes running `worker(index)`; returns the first non-zero exit code, else 0."""
    children: dict[int, int] = {}
    for index in range(count):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = worker(index)
            finally:
                os._exit(code)
        children[pid] = index

    def forward(signum: int, _: FrameType | None) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    result = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if children.pop(pid, None) is None:
            continue
        code = os.waitstatus_to_exitcode(status)
        if code != 0 and result == 0:
            result = code
            forward(signal.SIGTERM, None)  # one worker died: take the others down instead of running degraded
    return result
