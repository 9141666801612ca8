"""The server side of an in-process RPC: its state and the ServicerContext the handler sees.

It mirrors what grpc.aio's server context does for the parts core uses (metadata in and out, abort with rich
status trailers, set_code/set_details, streaming writes, cancellation, deadlines, done callbacks), so
servicers and interceptors cannot tell a local call from a network one."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

import grpc

MetadataPairs = tuple[tuple[str, str | bytes], ...]

# grpc.aio's own texts, so logs and the façade read the same as over the network.
CANCELLED_DETAILS = "Locally cancelled by application!"
DEADLINE_DETAILS = "Deadline Exceeded"


def as_pairs(metadata: Iterable[tuple[str, str | bytes]] | None) -> MetadataPairs:
    if not metadata:
        return ()
    return tuple((str(k), v) for k, v in metadata)


class _Sentinel:
    """Marks the end of a server stream in the message queue."""


END_OF_STREAM = _Sentinel()


class LocalRpc:
    """State shared by the handler's context and the caller's call object: status, metadata, the message
    queue of a server stream (bounded: a writer waits while the reader is `max_pending` messages behind, the
    backpressure gRPC's flow control gives), cancellation and completion."""

    def __init__(
        self, method: str, metadata: MetadataPairs, deadline: float | None, max_pending: int, peer: str
    ) -> None:
        self.method = method
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
        self.loop = asyncio.get_running_loop()
        self.code: grpc.StatusCode | None = None
        self.details: str | None = None
        self.trailing: MetadataPairs = ()
        self.initial: MetadataPairs | None = None
        self.aborted = False
        self.cancelled = False
        self.finished = False
        self._initial_waiter: asyncio.Future[None] | None = None
        self._done_waiter: asyncio.Future[None] | None = None
        self._done_callbacks: list[Callable[[], None]] = []
        # Server stream only.
        self.messages: deque[Any] = deque()
        self._max_pending = max_pending
        self._reader: asyncio.Future[None] | None = None
        self._writer: asyncio.Future[None] | None = None

    # --- initial metadata -------------------------------------------------------------------------------
    def send_initial(self, metadata: MetadataPairs) -> None:
        if self.initial is not None:
            raise grpc.aio.UsageError("Send initial metadata failed: already sent")
        self.initial = metadata
        if self._initial_waiter is not None and not self._initial_waiter.done():
            self._initial_waiter.set_result(None)

    async def wait_initial(self) -> MetadataPairs:
        if self.initial is None and not self.finished:
            if self._initial_waiter is None:
                self._initial_waiter = self.loop.create_future()
            await self._initial_waiter
        return self.initial or ()

    # --- server stream ----------------------------------------------------------------------------------
    async def put(self, message: Any) -> None:
        if self.finished:
            raise grpc.aio.UsageError("Write after the RPC finished")
        if self.initial is None:
            self.send_initial(())
        while len(self.messages) >= self._max_pending and not self.finished:
            self._writer = self.loop.create_future()
            await self._writer
        self.messages.append(message)
        self._wake_reader()

    async def take(self) -> Any:
        """The next message, or END_OF_STREAM once the handler finished and everything was read."""
        while not self.messages:
            if self.finished:
                return END_OF_STREAM
            self._reader = self.loop.create_future()
            await self._reader
        message = self.messages.popleft()
        if self._writer is not None and not self._writer.done():
            self._writer.set_result(None)
        return message

    def _wake_reader(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)

    # --- completion -------------------------------------------------------------------------------------
    def finish(self, code: grpc.StatusCode, details: str | None) -> None:
        if self.finished:
            return
        self.code, self.details, self.finished = code, details, True
        for waiter in (self._initial_waiter, self._done_waiter, self._writer):
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        self._wake_reader()
        callbacks, self._done_callbacks = self._done_callbacks, []
        for callback in callbacks:
            self.loop.call_soon(callback)

    async def wait_done(self) -> None:
        if not self.finished:
            if self._done_waiter is None:
                self._done_waiter = self.loop.create_future()
            await self._done_waiter

    def on_done(self, callback: Callable[[], None]) -> None:
        if self.finished:
            self.loop.call_soon(callback)
        else:
            self._done_callbacks.append(callback)

    def time_remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - self.loop.time())


class LocalServicerContext(grpc.aio.ServicerContext[Any, Any]):
    """What a servicer (and the interceptors around it) sees for an in-process RPC. Return types follow what
    grpc.aio's server context returns at run time (tuples of pairs, None when unset), which is narrower or
    looser than its type stubs in places; those overrides are marked."""

    def __init__(self, rpc: LocalRpc, copy_out: Callable[[Any], Any] | None = None) -> None:
        self._rpc = rpc
        # With copy_messages, every streamed message (written or yielded) round-trips through the serializers.
        self._copy_out = copy_out

    def invocation_metadata(self) -> MetadataPairs:  # type: ignore[override]
        return self._rpc.metadata

    async def send_initial_metadata(self, initial_metadata: Iterable[tuple[str, str | bytes]]) -> None:
        self._rpc.send_initial(as_pairs(initial_metadata))

    async def write(self, message: Any) -> None:
        await self._rpc.put(message if self._copy_out is None else self._copy_out(message))

    async def read(self) -> NoReturn:
        raise grpc.aio.UsageError("the in-process transport serves unary requests only")

    async def abort(
        self,
        code: grpc.StatusCode,
        details: str = "",
        trailing_metadata: grpc.aio.Metadata | Sequence[tuple[str, str | bytes]] = (),
    ) -> NoReturn:
        rpc = self._rpc
        if rpc.aborted:
            raise grpc.aio.UsageError("Abort already called!")
        rpc.aborted = True
        # grpc.aio turns an abort with OK into UNKNOWN: an aborted RPC never succeeds.
        rpc.code = grpc.StatusCode.UNKNOWN if code == grpc.StatusCode.OK else code
        rpc.details = details
        if trailing_metadata:
            rpc.trailing = as_pairs(trailing_metadata)
        raise grpc.aio.AbortError()

    async def abort_with_status(self, status: grpc.Status) -> NoReturn:
        await self.abort(status.code, status.details, status.trailing_metadata)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._rpc.code = code

    def set_details(self, details: str) -> None:
        self._rpc.details = details

    def set_trailing_metadata(self, trailing_metadata: Iterable[tuple[str, str | bytes]]) -> None:
        self._rpc.trailing = as_pairs(trailing_metadata)

    def trailing_metadata(self) -> MetadataPairs:  # type: ignore[override]
        return self._rpc.trailing

    def code(self) -> grpc.StatusCode | None:  # type: ignore[override]
        return self._rpc.code

    def details(self) -> str | None:  # type: ignore[override]
        return self._rpc.details

    def peer(self) -> str:
        return self._rpc.peer

    def peer_identities(self) -> Iterable[bytes] | None:
        return None

    def peer_identity_key(self) -> str | None:
        return None

    def auth_context(self) -> dict[str, Iterable[bytes]]:
        return {}

    def set_compression(self, compression: grpc.Compression) -> None:
        return None

    def disable_next_message_compression(self) -> None:
        return None

    def time_remaining(self) -> float | None:  # type: ignore[override]
        return self._rpc.time_remaining()

    def cancelled(self) -> bool:
        rpc = self._rpc
        return rpc.cancelled or rpc.code == grpc.StatusCode.DEADLINE_EXCEEDED

    def done(self) -> bool:
        return self._rpc.finished

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        self._rpc.on_done(lambda: callback(self))
