"""The caller's side of an in-process RPC: call objects that behave like grpc.aio's.

`await call` (unary) or `read()` / `async for` (server stream) give the messages or raise
grpc.aio.AioRpcError with the status, details and trailing metadata the handler produced, exactly what the
network transport raises, so callers keep one error path. cancel() cancels the handler's task (the server
sees the RPC cancelled, as when a network client goes away); so does cancelling a task awaiting the call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import grpc

from .local_context import CANCELLED_DETAILS, DEADLINE_DETAILS, END_OF_STREAM, LocalRpc, MetadataPairs


def _metadata(pairs: MetadataPairs | None) -> grpc.aio.Metadata:
    return grpc.aio.Metadata(*pairs) if pairs else grpc.aio.Metadata()


class _LocalCallBase:
    def __init__(self, rpc: LocalRpc, task: asyncio.Task[Any]) -> None:
        self._rpc = rpc
        self._task = task
        self._expiry: asyncio.TimerHandle | None = None
        self.expired = False
        if rpc.deadline is not None:
            self._expiry = rpc.loop.call_at(rpc.deadline, self._expire)
            task.add_done_callback(self._clear_expiry)

    def _expire(self) -> None:
        if not self._rpc.finished:
            self.expired = True
            self._rpc.finish(grpc.StatusCode.DEADLINE_EXCEEDED, DEADLINE_DETAILS)
            self._task.cancel()

    def _clear_expiry(self, _: object) -> None:
        if self._expiry is not None:
            self._expiry.cancel()

    def error(self) -> grpc.aio.AioRpcError | None:
        """The AioRpcError for a finished, failed RPC; None while running or when it succeeded."""
        rpc = self._rpc
        if not rpc.finished or rpc.code in (None, grpc.StatusCode.OK):
            return None
        assert rpc.code is not None
        return grpc.aio.AioRpcError(
            rpc.code, _metadata(rpc.initial), _metadata(rpc.trailing), rpc.details, "in-process call"
        )

    # --- grpc.aio.Call ----------------------------------------------------------------------------------
    def cancel(self) -> bool:
        rpc = self._rpc
        if rpc.finished:
            return False
        rpc.cancelled = True
        rpc.finish(grpc.StatusCode.CANCELLED, CANCELLED_DETAILS)
        rpc.messages.clear()
        self._task.cancel()
        return True

    def cancelled(self) -> bool:
        return self._rpc.code == grpc.StatusCode.CANCELLED

    def done(self) -> bool:
        return self._rpc.finished

    def time_remaining(self) -> float | None:
        return self._rpc.time_remaining()

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        self._rpc.on_done(lambda: callback(self))

    async def initial_metadata(self) -> grpc.aio.Metadata:
        return _metadata(await self._rpc.wait_initial())

    async def trailing_metadata(self) -> grpc.aio.Metadata:
        await self._rpc.wait_done()
        return _metadata(self._rpc.trailing)

    async def code(self) -> grpc.StatusCode:
        await self._rpc.wait_done()
        return self._rpc.code or grpc.StatusCode.OK

    async def details(self) -> str:
        await self._rpc.wait_done()
        return self._rpc.details or ""

    async def wait_for_connection(self) -> None:
        return None

    def _raise_if_cancelled(self) -> None:
        if self._rpc.cancelled:
            raise asyncio.CancelledError()


class LocalUnaryUnaryCall(_LocalCallBase, grpc.aio.UnaryUnaryCall[Any, Any]):
    """`task` returns the response, or None when the RPC failed (the status is in `rpc`)."""

    def __await__(self) -> Generator[Any, None, Any]:
        try:
            response = yield from self._task.__await__()
        except asyncio.CancelledError:
            # Our deadline cancelled the handler: the caller sees DEADLINE_EXCEEDED, as over the network.
            current = asyncio.current_task()
            if self.expired and (current is None or current.cancelling() == 0):
                error = self.error()
                assert error is not None
                raise error from None
            self.cancel()
            raise
        self._raise_if_cancelled()
        error = self.error()
        if error is not None:
            raise error
        return response


class LocalUnaryStreamCall(_LocalCallBase, grpc.aio.UnaryStreamCall[Any, Any]):
    async def read(self) -> Any:
        self._raise_if_cancelled()  # like grpc.aio: nothing more is delivered once the caller cancelled
        try:
            message = await self._rpc.take()
        except asyncio.CancelledError:
            self.cancel()
            raise
        if message is END_OF_STREAM:
            self._raise_if_cancelled()
            error = self.error()
            if error is not None:
                raise error
            return grpc.aio.EOF
        return message

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        while True:
            message = await self.read()
            if message is grpc.aio.EOF:
                return
            yield message


class LocalStreamUnaryCall(LocalUnaryUnaryCall, grpc.aio.StreamUnaryCall[Any, Any]):
    """A client stream fed by the async iterable given at call time (the form the façade uses); write() and
    done_writing() are not offered."""

    async def write(self, request: Any) -> None:
        raise grpc.aio.UsageError("the in-process transport takes client streams as an async iterable")

    async def done_writing(self) -> None:
        raise grpc.aio.UsageError("the in-process transport takes client streams as an async iterable")
