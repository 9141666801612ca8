"""The usage spool: an append-only journal of usage events on local disk, so a crash loses no accounting.

The recorder writes usage to the database in batches off the request path; a process killed between an answer
and the next batch would lose the answered requests' rows. So every event is first appended here, one JSON line
with a plain `write()` (no buffering in the process: once `write()` returned, a SIGKILL or OOM kill cannot lose
it; the kernel has it) and the file is fsync'd in the background once per flush interval (so power loss costs at
most that interval). Requests that went upstream are journaled when they do ("in flight"), so those cut off by a
crash are still billed, as interrupted, when the next process starts.

Lines: `{"b": key, "e": event}` in flight; `{"s": seq, "b": key|null, "e": event}` finished, where `seq` is the
event's position in the recorder's queue. The database keeps, per run, the highest `seq` committed, in the same
transaction as the batch (core.usage.recorder), so recovery inserts exactly the events after it: nothing twice.

Each process run owns its segment files (`run-<run id>-<index>.jsonl`) and holds an exclusive `flock` on them;
a run whose files nobody holds is an orphan, which the next process to start on the same database replays and
deletes. Files live under `<data_dir>/usage-spool/<hash of database_url>/`, so gateways sharing a data directory
but not a database never replay each other's journals. A segment is rotated past `segment_bytes`, the requests
still in flight are carried into the new one, and the old one is deleted once every event in it is committed."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from core.settings import Settings
from core.usage.events import UsageEvent

log = logging.getLogger(__name__)

SPOOL_DIR_NAME = "usage-spool"
DEFAULT_SEGMENT_BYTES = 64 << 20
# Journals hold emails, ids and client addresses: private to the gateway's user.
_DIR_MODE = 0o700
_FILE_MODE = 0o600
_SEGMENT = re.compile(r"run-([0-9a-f]{32})-(\d{6})\.jsonl")
# What an in-flight request cut off by a crash is recorded as: the gateway failed it, not the client.
INTERRUPTED_STATUS = 500
INTERRUPTED_MESSAGE = "interrupted: the gateway stopped while the request was in flight (recovered at restart)"

_EVENT_FIELDS = tuple(f.name for f in fields(UsageEvent))


def open_spool(settings: Settings) -> UsageSpool | None:
    """This run's journal, or None when `usage_spool` is off or its directory cannot be made (logged)."""
    if not settings.usage_spool:
        return None
    spool = UsageSpool(spool_directory(settings.data_dir, settings.database_url))
    try:
        spool.open()
    except OSError as exc:
        log.error("usage spool %s unavailable (%s): usage is kept in memory only", spool.directory, exc)
        return None
    return spool


def spool_directory(data_dir: str | Path, database_url: str) -> Path:
    """Where the journals of gateways writing to `database_url` live."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:16]
    return Path(data_dir) / SPOOL_DIR_NAME / digest


def _line(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj) + b"\n"


def _event_json(event: UsageEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in _EVENT_FIELDS}


def _event_from_json(obj: dict[str, Any]) -> UsageEvent:
    values: dict[str, Any] = {name: obj.get(name) for name in _EVENT_FIELDS}
    values["created_at"] = datetime.fromisoformat(values["created_at"])
    return UsageEvent(**values)


@dataclass
class _Segment:
    path: Path
    fd: int
    last_seq: int = 0


class UsageSpool:
    """The journal of one process run. Its methods never raise into the request path: a journal that cannot be
    written (disk full, read-only) is logged once and stops, and usage goes on through memory alone."""

    def __init__(self, directory: Path, *, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
        self.directory = directory
        self.run_id = uuid.uuid4().hex
        self._segment_bytes = segment_bytes
        self._index = 0
        self._current: _Segment | None = None
        self._size = 0
        self._older: list[_Segment] = []
        self._in_flight: dict[int, bytes] = {}
        self._next_key = 0
        self._seq = 0
        self._dirty = False
        self.broken = False

    def open(self) -> None:
        self.directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        self._rotate()

    def begin(self, event: UsageEvent) -> int:
        """Journals a request that is going upstream; the key is handed back to `finish`."""
        self._next_key += 1
        key = self._next_key
        line = _line({"b": key, "e": _event_json(event)})
        self._in_flight[key] = line
        self._write(line)
        return key

    def finish(self, event: UsageEvent, key: int | None) -> int:
        """Journals a finished request; returns its sequence number (the recorder queues events in this order)."""
        if key is not None:
            self._in_flight.pop(key, None)
        self._seq += 1
        self._write(_line({"s": self._seq, "b": key, "e": _event_json(event)}))
        if self._current is not None:
            self._current.last_seq = self._seq
            if self._size >= self._segment_bytes:
                self._rotate()
        return self._seq

    def committed(self, seq: int) -> None:
        """Every event up to `seq` is in the database: older segments holding nothing later are deleted."""
        while self._older and self._older[0].last_seq <= seq:
            self._drop(self._older.pop(0))

    def sync(self) -> None:
        """fsync for power loss (a killed process loses nothing written already); run it off the event loop."""
        current = self._current
        if current is None or not self._dirty:
            return
        self._dirty = False
        try:
            os.fsync(current.fd)
        except OSError as exc:
            self._break(exc)

    def close(self, *, all_committed: bool) -> None:
        """Releases the files; deletes them when everything they hold is in the database. Otherwise they stay
        for the next start to replay."""
        segments = [*self._older, *([self._current] if self._current else [])]
        self._older, self._current = [], None
        for segment in segments:
            if all_committed:
                self._drop(segment)
            else:
                os.close(segment.fd)

    def _rotate(self) -> None:
        if self.broken:
            return
        try:
            segment = _create_locked(self.directory, f"run-{self.run_id}-{self._index:06d}.jsonl")
        except OSError as exc:
            self._break(exc)
            return
        self._index += 1
        if self._current is not None:
            self._older.append(self._current)
        self._current, self._size = segment, 0
        carried = b"".join(self._in_flight.values())
        if carried:
            self._write(carried)
        if self._older and self._older[-1].last_seq == 0:
            # It held only in-flight lines, which were just carried over.
            self._drop(self._older.pop())

    def _write(self, data: bytes) -> None:
        current = self._current
        if current is None:
            return
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(current.fd, view) :]
        except OSError as exc:
            self._break(exc)
            return
        self._size += len(data)
        self._dirty = True

    def _break(self, exc: OSError) -> None:
        if not self.broken:
            log.error("usage spool %s stopped (%s): usage is kept in memory only until restart", self.directory, exc)
        self.broken = True
        if self._current is not None:
            with contextlib.suppress(OSError):
                os.close(self._current.fd)
            self._current = None

    @staticmethod
    def _drop(segment: _Segment) -> None:
        with contextlib.suppress(FileNotFoundError):
            segment.path.unlink()
        os.close(segment.fd)


def _create_locked(directory: Path, name: str) -> _Segment:
    """Created under a temporary name, locked, then renamed: a process looking for orphans never sees a new
    segment before its owner holds the lock."""
    temporary = directory / f".{name}.tmp"
    fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC, _FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        final = directory / name
        os.rename(temporary, final)
    except OSError:
        os.close(fd)
        raise
    return _Segment(final, fd)


@dataclass
class OrphanRun:
    """The segments of a run that no process holds any more, locked by us while we replay them."""

    run_id: str
    segments: list[_Segment] = field(default_factory=list)

    def events(self) -> tuple[list[tuple[int, UsageEvent]], list[UsageEvent]]:
        """(finished events with their seq, in-flight requests that never finished). A torn last line (the
        process died inside a write) is skipped."""
        finished: dict[int, UsageEvent] = {}
        in_flight: dict[int, UsageEvent] = {}
        ended: set[int] = set()
        for segment in self.segments:
            for raw in segment.path.read_bytes().splitlines():
                try:
                    entry = orjson.loads(raw)
                    event = _event_from_json(entry["e"])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    log.warning("usage spool %s: skipped an unreadable line", segment.path.name)
                    continue
                if "s" in entry:
                    finished[entry["s"]] = event
                    if entry.get("b") is not None:
                        ended.add(entry["b"])
                else:
                    in_flight[entry["b"]] = event
        interrupted = [
            replace(event, status=INTERRUPTED_STATUS, error_message=INTERRUPTED_MESSAGE, tokens_estimated=True)
            for key, event in in_flight.items()
            if key not in ended
        ]
        return sorted(finished.items()), interrupted

    def delete(self) -> None:
        for segment in self.segments:
            UsageSpool._drop(segment)
        self.segments = []

    def release(self) -> None:
        for segment in self.segments:
            os.close(segment.fd)
        self.segments = []


def claim_orphans(directory: Path) -> Iterator[OrphanRun]:
    """Each run whose segments no live process holds, locked for the caller (another starting replica skips
    it). The caller deletes or releases each run it is given."""
    if not directory.is_dir():
        return
    runs: dict[str, list[tuple[int, Path]]] = {}
    for path in directory.iterdir():
        match = _SEGMENT.fullmatch(path.name)
        if match:
            runs.setdefault(match.group(1), []).append((int(match.group(2)), path))
    for run_id, found in sorted(runs.items()):
        run = OrphanRun(run_id)
        try:
            for _, path in sorted(found):
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
                run.segments.append(_Segment(path, fd))
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, FileNotFoundError):
            run.release()  # alive, or another replica is replaying it
            continue
        yield run
