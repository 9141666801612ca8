"""Closed-loop HTTP/1.1 load generator: keep-alive connections on raw asyncio sockets.

Each connection sends one request, waits for the whole response, validates it, and sends the
next, until the job's request count or wall-clock cap is reached. The client is a uvloop protocol
fed by httptools' C parser, so per request it costs tens of microseconds, well under what it
measures (checked against wrk, see docs/benchmarks.md). Jobs run in worker processes
(``LoadGenPool``) so the generator does not share a GIL with the orchestrator; each worker
reports its own CPU time so the generator's overhead is measured, not assumed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from typing import IO, Any, cast

import httptools
import orjson
import uvloop

Validator = Callable[[int, bytes], str | None]


@dataclasses.dataclass(frozen=True)
class Job:
    host: str
    port: int
    path: str
    body: bytes
    auth: str  # full Authorization header value
    scenario: str  # "chat" | "stream" | "embed": picks the validator
    requests: int
    concurrency: int
    cap_s: float

    def raw_request(self) -> bytes:
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: {self.auth}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json\r\nContent-Length: {len(self.body)}\r\n\r\n"
        )
        return head.encode() + self.body


@dataclasses.dataclass
class JobResult:
    latencies_ms: list[float] = dataclasses.field(default_factory=list)  # successful requests only
    ttfb_ms: list[float] = dataclasses.field(default_factory=list)  # first body byte
    ok: int = 0
    failed: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)  # first few distinct messages
    wall_s: float = 0.0
    cpu_s: float = 0.0  # the generator's own CPU time for this job
    capped: bool = False  # the wall-clock cap stopped it before `requests` were done

    def merge(self, other: JobResult) -> None:
        self.latencies_ms += other.latencies_ms
        self.ttfb_ms += other.ttfb_ms
        self.ok += other.ok
        self.failed += other.failed
        self.errors += [e for e in other.errors if e not in self.errors][: 10 - len(self.errors)]
        self.wall_s = max(self.wall_s, other.wall_s)
        self.cpu_s += other.cpu_s
        self.capped = self.capped or other.capped

    def add_error(self, msg: str) -> None:
        self.failed += 1
        # keep one example per kind of error: bodies differ by ids, the first words do not
        if len(self.errors) < 10 and not any(e[:30] == msg[:30] for e in self.errors):
            self.errors.append(msg)


def _usage_ok(usage: object) -> bool:
    return isinstance(usage, dict) and isinstance(usage.get("total_tokens"), int) and usage["total_tokens"] > 0


def validate_chat(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"status {status}: {body[:200]!r}"
    doc = orjson.loads(body)
    if not _usage_ok(doc.get("usage")):
        return "no usage"
    choices = doc.get("choices")
    if not choices or not choices[0].get("message", {}).get("content"):
        return "no content"
    return None


def validate_stream(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"status {status}: {body[:200]!r}"
    if not body.endswith(b"data: [DONE]\n\n"):
        return f"stream does not end with [DONE]: {body[-120:]!r}"
    events = body.split(b"\n\n")
    # events: [content..., finish, usage, "data: [DONE]", ""]
    if len(events) < 5 or not events[-3].startswith(b"data: "):
        return "stream too short"
    last = orjson.loads(events[-3][6:])
    if last.get("choices") != [] or not _usage_ok(last.get("usage")):
        return f"no usage chunk before [DONE]: {events[-3][:200]!r}"
    if b'"error"' in body:
        return "in-band error event"
    return None


def validate_embed(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"status {status}: {body[:200]!r}"
    doc = orjson.loads(body)
    usage = doc.get("usage")
    if not isinstance(usage, dict) or not usage.get("prompt_tokens"):
        return "no usage"
    data = doc.get("data")
    if not data or not data[0].get("embedding"):
        return "no embedding"
    return None


VALIDATORS: dict[str, Validator] = {"chat": validate_chat, "stream": validate_stream, "embed": validate_embed}


class _Conn(asyncio.Protocol):
    """One keep-alive connection; ``request()`` returns (status, body, t_first_body_byte)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes, float]] | None = None
        self.parts: list[bytes] = []
        self.t_first = 0.0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("connection closed by server"))

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()
        self.closed = True

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        if not self.parts:
            self.t_first = time.perf_counter()
        self.parts.append(body)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            status = self.parser.get_status_code()
            self.waiter.set_result((status, b"".join(self.parts), self.t_first))
        if not self.parser.should_keep_alive():
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    def request(self, raw: bytes) -> asyncio.Future[tuple[int, bytes, float]]:
        assert self.transport is not None
        self.parts = []
        self.t_first = 0.0
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return self.waiter


async def run_job(job: Job) -> JobResult:
    loop = asyncio.get_running_loop()
    res = JobResult()
    raw = job.raw_request()
    validate = VALIDATORS[job.scenario]
    remaining = job.requests
    perf = time.perf_counter

    async def connect() -> _Conn:
        _, proto = await loop.create_connection(_Conn, job.host, job.port)
        return proto

    async def worker() -> None:
        conn: _Conn | None = None
        try:
            while remaining > 0:
                conn = await one(conn)
        finally:  # also on cancellation at the cap: do not leave sockets to the next job
            if conn is not None and conn.transport is not None:
                conn.transport.abort()

    async def one(conn: _Conn | None) -> _Conn | None:
        nonlocal remaining
        remaining -= 1
        try:
            if conn is None or conn.closed:
                conn = await connect()
            t0 = perf()
            status, body, t_first = await conn.request(raw)
            t1 = perf()
        except (OSError, httptools.HttpParserError, AssertionError) as exc:
            res.add_error(f"{type(exc).__name__}: {exc}")
            return None
        try:
            err = validate(status, body)
        except (orjson.JSONDecodeError, AttributeError, TypeError) as exc:
            err = f"invalid body ({exc}): {body[:200]!r}"
        if err:
            res.add_error(err)
        else:
            res.ok += 1
            res.latencies_ms.append((t1 - t0) * 1000)
            res.ttfb_ms.append(((t_first or t1) - t0) * 1000)
        return conn

    cpu0, t0 = time.process_time(), perf()
    tasks = [asyncio.ensure_future(worker()) for _ in range(max(1, job.concurrency))]
    _, pending = await asyncio.wait(tasks, timeout=job.cap_s)
    if pending:
        res.capped = True
        for t in pending:
            t.cancel()
        await asyncio.wait(pending)
    res.wall_s = perf() - t0
    res.cpu_s = time.process_time() - cpu0
    return res


def run_job_sync(job: Job) -> JobResult:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run_job(job))


def _send(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj)
    stream.write(struct.pack("<I", len(data)) + data)
    stream.flush()


def _recv(stream: IO[bytes]) -> Any:
    head = stream.read(4)
    if len(head) < 4:
        raise EOFError("load generator pipe closed")
    return pickle.loads(stream.read(struct.unpack("<I", head)[0]))


def _worker_main() -> None:
    """``python -m bench.loadgen``: run pickled jobs from stdin, answer results on stdout."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        while True:
            try:
                job = _recv(stdin)
            except EOFError:
                return
            _send(stdout, runner.run(run_job(job)))


class LoadGenPool:
    """Worker processes that split each job (requests and connections) between them.

    Workers are plain child interpreters (not multiprocessing), so they work from any caller,
    including a ``python -c`` or a pytest process, and inherit nothing but the environment.
    """

    def __init__(self, procs: int = 1, python: str = sys.executable) -> None:
        self.procs = max(1, procs)
        self.python = python
        self._workers: list[subprocess.Popen[bytes]] = []

    def start(self) -> LoadGenPool:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        for _ in range(self.procs):
            self._workers.append(
                subprocess.Popen(
                    [self.python, "-m", "bench.loadgen"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    env=env,
                    cwd=root,
                )
            )
        return self

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._workers]

    def run(self, job: Job) -> JobResult:
        # never more workers than connections, or c=1 would become c=procs
        active = self._workers[: max(1, min(len(self._workers), job.concurrency))]
        n = len(active)
        for i, p in enumerate(active):
            share = dataclasses.replace(
                job,
                requests=job.requests // n + (1 if i < job.requests % n else 0),
                concurrency=job.concurrency // n + (1 if i < job.concurrency % n else 0),
            )
            assert p.stdin is not None
            _send(p.stdin, share)
        total = JobResult()
        for p in active:
            assert p.stdout is not None
            total.merge(_recv(p.stdout))  # a job always ends: run_job stops at its cap
        return total

    def stop(self) -> None:
        for p in self._workers:
            if p.stdin is not None:
                p.stdin.close()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()
        self._workers = []

    def __enter__(self) -> LoadGenPool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    # Import by name so pickled results reference bench.loadgen.JobResult, not __main__.JobResult.
    from bench.loadgen import _worker_main as main

    main()
