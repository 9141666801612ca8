"""CPU time and memory of a process tree, from /proc (Linux only).

CPU is utime+stime of every live process in the tree plus cutime+cstime (children already reaped),
so a gateway that forks workers or helpers is charged for all of them.
"""

from __future__ import annotations

import dataclasses
import os

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclasses.dataclass(frozen=True)
class TreeSample:
    cpu_s: float  # cumulative CPU seconds of the tree
    rss_bytes: int  # current resident set, summed over the tree
    hwm_bytes: int  # sum of each process's peak RSS (VmHWM), an upper bound of the tree's peak
    pids: tuple[int, ...]


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode()
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses; split after its last ')'
    return raw[raw.rindex(")") + 2 :].split()


def descendants(root: int) -> list[int]:
    """``root`` and every live descendant (scans /proc: children files are not always available)."""
    parent_of: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields is not None:
                parent_of[int(name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parent_of.items() if ppid in frontier]
        tree += frontier
    return tree


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sample(root: int) -> TreeSample:
    cpu_ticks = rss_pages = hwm_kb = 0
    pids = descendants(root)
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        # after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14) ... rss(21)
        cpu_ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        rss_pages += int(fields[21])
        hwm_kb += _status_kb(pid, "VmHWM:")
    return TreeSample(cpu_ticks / _TICK, rss_pages * _PAGE, hwm_kb * 1024, tuple(pids))


def cpu_s(pids: list[int]) -> float:
    """Summed CPU seconds of several trees (e.g. the load generator's workers)."""
    return sum(sample(p).cpu_s for p in pids)
