"""Moves an accepted upstream stream to the client, one message per batch of events that arrived together
(UpstreamStream.batches(): whatever one read of the upstream brought). One gRPC message per token would cost
a syscall and a frame per token; reading in the same task, batch by batch, costs no queue hand-off per event.

The first visible chunk is the exception: it goes out on its own as soon as it is converted, and the loop
gets one turn to deliver it before the rest of its batch is converted. Otherwise a fast upstream's whole
burst is converted before the first message leaves, and the client's time to first byte becomes the time
of the whole stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from core.inference.stream_usage import StreamUsage
from core.inference.usage_meter import UsageMeter
from core.providers.base import JSONObject, UpstreamStream

ChunkT = TypeVar("ChunkT")


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
        try:
            await on_accepted()
            first_sent = False
            # aclosing: a stream left early (error, cancellation) is finalized here, not later by the GC.
            async with contextlib.aclosing(upstream.batches()) as batches:
                async for events in batches:
                    batch: list[ChunkT] = []
                    for event in events:
                        visible = self._accept(event)
                        if visible is None:
                            continue
                        batch.append(self._convert(visible))
                        if not first_sent:
                            first_sent = True
                            await self._emit(batch)
                            batch = []
                            await _let_deliver()
                        elif len(batch) >= self._max_batch:
                            await self._emit(batch)
                            batch = []
                    if batch:
                        await self._emit(batch)
            await self._usage.count_tokens()
            await self._add_estimated_usage()
        finally:
            # Counted before any await below, so a second cancellation cannot lose them.
            tokens_in, tokens_out, estimated = self._usage.totals()
            self._meter.set_tokens(tokens_in, tokens_out, estimated=estimated)
            await upstream.aclose()

    def _accept(self, event: JSONObject) -> JSONObject | None:
        """Counts the event; returns what the client gets of it (None: nothing)."""
        visible = self._usage.accept(event)
        if self._usage.saw_output:
            self._meter.mark_first_token()
        return visible

    async def _add_estimated_usage(self) -> None:
        tail = self._usage.estimated_usage_event()
        if tail is not None:
            chunk = self._convert(tail)
            self._mark_estimated(chunk)
            await self._emit([chunk])


# Loop turns the first chunk gets before the rest of its batch is converted. In-process, the façade needs two
# to write it (its reading task wakes and hands the message to the request task, which wakes and writes);
# with one, the conversion of a whole burst lands in between and delays the client's first byte by as much.
FIRST_CHUNK_DELIVERY_TURNS = 2


async def _let_deliver() -> None:
    for _ in range(FIRST_CHUNK_DELIVERY_TURNS):
        await asyncio.sleep(0)
