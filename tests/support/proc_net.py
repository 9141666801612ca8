"""Which TCP connections a process holds, read from /proc (Linux): lets a test see whether the façade reaches
core over a socket or in process, without trusting the flag it passed."""

from __future__ import annotations

import os
from pathlib import Path


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed while we looked
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def connections_to_port(pid: int, port: int) -> int:
    """How many of `pid`'s TCP sockets have `port` as their remote port (IPv4 and IPv6)."""
    inodes = _socket_inodes(pid)
    count = 0
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[9] in inodes:
                count += 1
    return count
