"""The request path's script calls (admission, settlement): EVALSHA on one dedicated redis-py connection,
with the calls that overlap sharing round trips.

One call or one batch is on the wire at a time: the calls that arrive meanwhile queue up and go together
(their commands written at once, their replies read in order) when it returns. A lone call goes at once.

Why not `await script(...)` through the pool: redis-py's command machinery (pool checkout, retry wrapper,
response callbacks, a task per write for the socket timeout) cost ~0.1 ms of CPU per admission on top of
the round trip, more than the rest of the Redis path. Measured side by side on the admission script
(2 keys, loaded 2-CPU machine): through the pool 0.18-0.22 ms per call; here (commands packed by hiredis,
one asyncio.timeout per round trip instead of the connection's socket timeout) 0.07-0.10 ms alone and
~0.05 ms in overlapping batches - what the hand-written RESP client this replaces cost. The connection is
the client's own kind (same URL: TLS, unix socket, AUTH, database, Sentinel), made from its pool's
settings, so there is one Redis client and one URL parser.

A reply NOSCRIPT (a restarted or flushed Redis) sends that call again through redis-py's Script, which
loads the script. An error that means Redis is unreachable fails the calls queued behind it at once
(core.governance.limits.failover then falls back) instead of letting each wait for its own timeout."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)


@dataclass(slots=True)
class _Call:
    script: AsyncScript
    keys: list[str]
    args: list[int]
    future: asyncio.Future[Any] | None = None  # None for the call that goes on the wire at once


class ScriptCalls:
    """`timeout` bounds each round trip (connecting included)."""

    def __init__(self, client: Redis, *, timeout: float) -> None:
        self._client = client
        self._timeout = timeout
        self._connection: AbstractConnection | None = None
        self._busy = False  # a call or a batch is on the wire
        self._queue: list[_Call] = []
        self._drainer: asyncio.Task[None] | None = None

    async def run(self, script: AsyncScript, keys: list[str], args: list[int]) -> Any:
        if self._busy:
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._queue.append(_Call(script, keys, args, future))
            return await future
        self._busy = True
        try:
            [reply] = await self._round_trip([_Call(script, keys, args)])
        except _UNREACHABLE as exc:
            self._fail_queued(exc)
            raise
        finally:
            self._send_queued()
        if isinstance(reply, NoScriptError):
            return await script(keys=keys, args=args)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def _conn(self) -> AbstractConnection:
        """The pool's kind of connection without its per-call socket timeout: `_round_trip` bounds the
        whole round trip with one asyncio.timeout, which costs less than a task per write."""
        if self._connection is None:
            pool = self._client.connection_pool
            self._connection = pool.connection_class(**{**pool.connection_kwargs, "socket_timeout": None})
        return self._connection

    async def _round_trip(self, calls: list[_Call]) -> list[Any]:
        """Each call's reply, or the ResponseError it got; raises when the connection fails (and drops it:
        replies may be out of step, the next round trip reconnects)."""
        conn = self._conn()
        packed = b"".join(
            hiredis.pack_command(("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args))  # type: ignore[arg-type]
            for call in calls
        )
        replies: list[Any] = []
        try:
            async with asyncio.timeout(self._timeout):
                if not conn.is_connected:
                    # connect() as the pool does: a Sentinel-managed connection asks for the master there
                    # (sending on an unconnected one would go to its default address instead).
                    await conn.connect()  # type: ignore[no-untyped-call]
                await conn.send_packed_command(packed, check_health=False)
                for _ in calls:
                    try:
                        replies.append(await conn.read_response())
                    except ResponseError as exc:  # the reply was read whole: the stream is still in step
                        replies.append(exc)
        except TimeoutError:
            await conn.disconnect(nowait=True)
            raise RedisTimeoutError(f"no Redis reply within {self._timeout:g} s") from None
        except BaseException:
            await conn.disconnect(nowait=True)
            raise
        return replies

    def _send_queued(self) -> None:
        if self._queue:
            self._drainer = asyncio.get_running_loop().create_task(self._drain(), name="redis-script-batch")
        else:
            self._busy = False

    async def _drain(self) -> None:
        try:
            while self._queue:
                # A caller that gave up while queued is not sent: an admission nobody waits for would
                # reserve room that no request uses.
                batch = [call for call in self._queue if call.future is not None and not call.future.done()]
                self._queue = []
                if batch:
                    await self._send_batch(batch)
        finally:
            self._busy = False

    async def _send_batch(self, batch: list[_Call]) -> None:
        try:
            replies = await self._round_trip(batch)
        except Exception as exc:
            _fail(batch, exc)
            if isinstance(exc, _UNREACHABLE):
                self._fail_queued(exc)
            return
        for call, reply in zip(batch, replies, strict=True):
            if isinstance(reply, NoScriptError):
                try:
                    reply = await call.script(keys=call.keys, args=call.args)
                except Exception as exc:
                    reply = exc
            assert call.future is not None
            if call.future.done():
                continue  # its caller gave up
            if isinstance(reply, Exception):
                call.future.set_exception(reply)
            else:
                call.future.set_result(reply)

    def _fail_queued(self, exc: BaseException) -> None:
        batch, self._queue = self._queue, []
        _fail(batch, exc)

    async def reset(self) -> None:
        """Drops the connection (after an outage it is a dead socket); the next call reconnects."""
        if self._connection is not None:
            await self._connection.disconnect()

    async def aclose(self) -> None:
        """Lets a batch on the wire finish (its callers wait for it), then closes the connection."""
        if self._drainer is not None:
            with contextlib.suppress(Exception):
                await self._drainer
            self._drainer = None
        await self.reset()


def _fail(batch: list[_Call], exc: BaseException) -> None:
    for call in batch:
        if call.future is not None and not call.future.done():
            call.future.set_exception(exc)
