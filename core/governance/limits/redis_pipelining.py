"""Concurrent script calls share round trips: while one call is on the wire, the calls that arrive queue up
and go together as one redis-py pipeline when it returns.

Why: redis-py spends ~0.1 ms of CPU per command on its own machinery (pool checkout, retry wrapper,
timeouts, reply parsing set-up) whatever the command; a pipeline pays it once for the batch. Measured on the
admission script (2 keys): 0.15 ms per call one at a time, 0.09 ms in batches of 4, 0.045 ms in batches of
16 - at the request rates where CPU matters, calls overlap and batch by themselves. A lone call (nothing in
flight) is sent at once on its own, so an idle gateway adds no latency.

EVALSHA with a NOSCRIPT fallback: a call that finds the script missing (a restarted or flushed Redis) is
sent again through redis-py's Script, which loads it. A failed call whose error means Redis is unreachable
fails the calls queued behind it at once with the same error (core.governance.limits.failover then falls
back), instead of letting each wait for its own timeout."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)


@dataclass(slots=True)
class _Call:
    script: AsyncScript
    keys: list[str]
    args: list[int]
    future: asyncio.Future[Any]


class ScriptCalls:
    def __init__(self, client: Redis) -> None:
        self._client = client
        self._busy = False  # a call or a pipeline is on the wire
        self._queue: list[_Call] = []
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, script: AsyncScript, keys: list[str], args: list[int]) -> Any:
        if self._busy:
            call = _Call(script, keys, args, asyncio.get_running_loop().create_future())
            self._queue.append(call)
            return await call.future
        self._busy = True
        try:
            return await script(keys=keys, args=args)
        except _UNREACHABLE as exc:
            self._fail_queued(exc)
            raise
        finally:
            self._send_queued()

    def _send_queued(self) -> None:
        if self._queue:
            self._drainer = asyncio.get_running_loop().create_task(self._drain(), name="redis-pipeline")
        else:
            self._busy = False

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await self._send(batch)
        finally:
            self._busy = False

    async def _send(self, batch: list[_Call]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for call in batch:
            pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
        try:
            results = await pipe.execute(raise_on_error=False)
        except Exception as exc:
            _fail(batch, exc)
            if isinstance(exc, _UNREACHABLE):
                self._fail_queued(exc)
            return
        for call, result in zip(batch, results, strict=True):
            if call.future.done():
                continue  # its caller gave up
            if isinstance(result, NoScriptError):
                try:
                    result = await call.script(keys=call.keys, args=call.args)
                except Exception as exc:
                    result = exc
            if call.future.done():
                continue
            if isinstance(result, Exception):
                call.future.set_exception(result)
            else:
                call.future.set_result(result)

    def _fail_queued(self, exc: BaseException) -> None:
        batch, self._queue = self._queue, []
        _fail(batch, exc)

    async def aclose(self) -> None:
        """Lets a pipeline on the wire finish (its callers are waiting for it)."""
        if self._drainer is not None:
            with contextlib.suppress(Exception):
                await self._drainer
            self._drainer = None


def _fail(batch: list[_Call], exc: BaseException) -> None:
    for call in batch:
        if not call.future.done():
            call.future.set_exception(exc)
