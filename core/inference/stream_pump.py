"""Moves an accepted upstream stream to the client, coalescing whatever has already arrived into one
message: one gRPC message per token would cost a syscall and a frame per token.

The first visible chunk is the exception: it goes out on its own as soon as it arrived, read in the
forwarding task itself, before the reader task starts. Otherwise a fast upstream's whole burst is parsed
before the first message leaves, and the client's time to first byte becomes the time of the whole stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

from core.inference.stream_usage import StreamUsage
from core.inference.usage_meter import UsageMeter
from core.providers.base import JSONObject, UpstreamStream

ChunkT = TypeVar("ChunkT")


class _End:
    """Queue marker: the upstream finished normally."""


_END = _End()


class StreamPump(Generic[ChunkT]):
    """`convert` turns one client-visible event into a chunk message (and raises a domain error if it does
    not fit); `emit` sends one batch; `mark_estimated` flags the usage of a synthesized usage chunk."""

    def __init__(
        self,
        *,
        usage: StreamUsage,
        meter: UsageMeter,
        convert: Callable[[JSONObject], ChunkT],
        mark_estimated: Callable[[ChunkT], None],
        emit: Callable[[list[ChunkT]], Awaitable[None]],
        max_batch: int,
    ) -> None:
        self._usage = usage
        self._meter = meter
        self._convert = convert
        self._mark_estimated = mark_estimated
        self._emit = emit
        self._max_batch = max(1, max_batch)

    async def run(self, upstream: UpstreamStream, on_accepted: Callable[[], Awaitable[None]]) -> None:
        """Announces the accepted stream, then forwards it until it ends; raises the upstream's error; on
        cancellation stops the upstream request at once. Always closes the upstream and leaves the tokens
        counted so far (the upstream's, else an estimate) on the meter."""
        queue: asyncio.Queue[JSONObject | _End | Exception] = asyncio.Queue(maxsize=self._max_batch)
        reader: asyncio.Task[None] | None = None
        try:
            await on_accepted()
            events = aiter(upstream)
            if await self._forward_first(events):
                reader = asyncio.create_task(_read(events, queue))
                await self._forward(queue)
            await self._add_estimated_usage()
        finally:
            # Counted before any await below, so a second cancellation cannot lose them.
            tokens_in, tokens_out, estimated = self._usage.totals()
            self._meter.set_tokens(tokens_in, tokens_out, estimated=estimated)
            try:
                if reader is not None and not reader.done():
                    reader.cancel()
                    # wait() does not re-raise the reader's CancelledError, yet lets our own cancellation through.
                    await asyncio.wait([reader])
            finally:
                await upstream.aclose()

    def _accept(self, event: JSONObject) -> JSONObject | None:
        """Counts the event; returns what the client gets of it (None: nothing)."""
        visible = self._usage.accept(event)
        if self._usage.saw_output:
            self._meter.mark_first_token()
        return visible

    async def _forward_first(self, events: AsyncIterator[JSONObject]) -> bool:
        """Forwards events one at a time until one reached the client; False when the upstream ended first."""
        while True:
            try:
                event = await anext(events)
            except StopAsyncIteration:
                return False
            visible = self._accept(event)
            if visible is not None:
                await self._emit([self._convert(visible)])
                # One loop turn for the transport to deliver it before the reader parses the rest.
                await asyncio.sleep(0)
                return True

    async def _forward(self, queue: asyncio.Queue[JSONObject | _End | Exception]) -> None:
        while True:
            item: JSONObject | _End | Exception = await queue.get()
            batch: list[ChunkT] = []
            failure: Exception | None = None
            finished = False
            while True:
                if isinstance(item, _End):
                    finished = True
                    break
                if isinstance(item, Exception):
                    failure = item
                    break
                visible = self._accept(item)
                if visible is not None:
                    batch.append(self._convert(visible))
                if len(batch) >= self._max_batch:
                    break
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
            if batch:
                await self._emit(batch)
            if failure is not None:
                raise failure
            if finished:
                return

    async def _add_estimated_usage(self) -> None:
        tail = self._usage.estimated_usage_event()
        if tail is not None:
            chunk = self._convert(tail)
            self._mark_estimated(chunk)
            await self._emit([chunk])


async def _read(events: AsyncIterator[JSONObject], queue: asyncio.Queue[JSONObject | _End | Exception]) -> None:
    try:
        async for event in events:
            await queue.put(event)
    except Exception as exc:
        await queue.put(exc)
    else:
        await queue.put(_END)
