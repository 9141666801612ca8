"""An accepted upstream SSE response as an UpstreamStream: the events of each read, handed over together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import aiohttp

from core.errors import AqueductError
from core.providers.base import BatchedStream, JSONObject
from core.providers.scrubbing import Scrubber
from core.providers.sse import SSEDecoder, SSEError, SSEEvent
from core.providers.upstream_errors import (
    TRANSPORT_ERRORS,
    error_from_event,
    error_from_transport,
    json_object,
    malformed,
    truncated_stream,
)

# After `[DONE]` the body still has its closing bytes (the last chunk of chunked framing, often in a later
# TCP segment). Reading them lets the connection go back to the pool, which saves a new connection per
# stream; an upstream that keeps sending, or is slow to end the body, gets its connection closed instead.
STREAM_DRAIN_MAX_BYTES = 64 * 1024
STREAM_DRAIN_MAX_SECONDS = 0.1


class HTTPEventStream(BatchedStream):
    """The parsed events of one accepted upstream stream, a batch per read of the body. A stream read to
    `[DONE]` or to the end of its body gives its connection back to the pool; one stopped early (an error, a
    cancelled client, aclose()) closes it, so a half-read connection is never reused. A body that ends without
    `[DONE]` is an error: the answer may have been cut short."""

    # What the last event of a complete stream is, for the error when the body ends before it.
    END_MARKER = "[DONE]"

    def __init__(self, response: aiohttp.ClientResponse, model: str, where: tuple[str, str], scrub: Scrubber) -> None:
        self._response = response
        self._model = model
        self._where = where  # (deployment id, origin) for the operator's log
        self._scrub = scrub

    async def batches(self) -> AsyncGenerator[list[JSONObject], None]:
        content = self._response.content
        decoder = SSEDecoder()
        first = True
        try:
            # readany(): every byte that has arrived, at once (one wake-up per read, not one per event).
            while raw := await content.readany():
                events = decoder.feed(raw)
                # The stream's first event goes alone, before the rest of a burst is parsed: the client's first
                # byte waits for nothing else.
                for group in (events[:1], events[1:]) if first and len(events) > 1 else (events,):
                    batch, done, failure = self._parse_all(group)
                    if batch:
                        first = False
                        yield batch
                    if failure is not None:
                        raise failure
                    if done:
                        await self._drain()
                        return
            batch, done, failure = self._parse_all(decoder.close())
            if batch:
                yield batch
            if failure is not None:
                raise failure
            if not done:
                raise truncated_stream(self._model, *self._where, self.END_MARKER)
        except TRANSPORT_ERRORS as exc:
            raise error_from_transport(exc, self._model, *self._where) from exc
        except SSEError:
            raise malformed("event stream") from None
        finally:
            # Back to the pool when the body was read to its end, else the connection is closed.
            self._response.release()

    async def _drain(self) -> None:
        content = self._response.content
        drained = 0
        try:
            async with asyncio.timeout(STREAM_DRAIN_MAX_SECONDS):
                while chunk := await content.readany():
                    drained += len(chunk)
                    if drained > STREAM_DRAIN_MAX_BYTES:
                        break
        except TRANSPORT_ERRORS:
            pass  # the events are complete; the connection is simply not reused

    def _parse_all(self, events: list[SSEEvent]) -> tuple[list[JSONObject], bool, AqueductError | None]:
        """The events' objects up to `[DONE]` (then True) or up to a bad event (then its error)."""
        batch: list[JSONObject] = []
        for event in events:
            try:
                data = self._parse(event.data, event.event)
            except AqueductError as exc:
                return batch, False, exc
            if data is None:
                return batch, True, None
            if data:
                batch.append(data)
        return batch, False, None

    async def aclose(self) -> None:
        self._response.close()

    def _parse(self, data: str, event: str) -> JSONObject | None:
        """None at `[DONE]`; {} for an event to skip; raises on a malformed or error event."""
        text = data.strip()
        if text == "[DONE]":
            return None
        if not text:
            return {}
        obj = json_object(text, "stream event")
        if event == "error" or (obj.get("error") and not obj.get("choices")):
            raise error_from_event(obj.get("error", obj), self._scrub, self._model)
        return obj
