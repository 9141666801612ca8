"""Turns domain errors into google.rpc.Status (ErrorInfo + BadRequest + RetryInfo) on every RPC.

It wraps the method handler's behavior rather than the continuation, so it also catches errors raised
by the behavior itself and by interceptors that sit inside it (auth)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from core.errors import AqueductError
from core.interceptors._handlers import Context, Handler, StreamBehavior, UnaryBehavior, wrap_behaviors

log = logging.getLogger("aqueduct.core.errors")

ERROR_DOMAIN = "aqueduct"


def to_status(error: AqueductError) -> status_pb2.Status:
    """The rich status for a domain error: ErrorInfo always, BadRequest / RetryInfo where they apply."""
    details: list[any_pb2.Any] = []
    info = error_details_pb2.ErrorInfo(reason=_reason_name(error), domain=ERROR_DOMAIN, metadata=error.metadata)
    packed = any_pb2.Any()
    packed.Pack(info)
    details.append(packed)
    if error.field:
        bad = error_details_pb2.BadRequest(
            field_violations=[error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.message)]
        )
        packed = any_pb2.Any()
        packed.Pack(bad)
        details.append(packed)
    if error.retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(max(error.retry_after, 0.0) * 1e9))
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        details.append(packed)
    return status_pb2.Status(code=error.code.value[0], message=error.message, details=details)


def _reason_name(error: AqueductError) -> str:
    from aqueduct.v1 import error_reason_pb2

    return error_reason_pb2.ErrorReason.Name(error.reason).removeprefix("ERROR_REASON_")


def internal_status(request_id: str | None) -> status_pb2.Status:
    suffix = f" (request id {request_id})" if request_id else ""
    return status_pb2.Status(code=code_pb2.INTERNAL, message=f"internal error{suffix}")


async def abort_with(context: Context, status: status_pb2.Status) -> None:
    converted = rpc_status.to_status(status)
    await context.abort(converted.code, converted.details, converted.trailing_metadata)


def _request_id(context: Context) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id":
            return value if isinstance(value, str) else value.decode()
    return None


async def _handle(context: Context, exc: BaseException, method: str) -> None:
    if isinstance(exc, AqueductError):
        await abort_with(context, to_status(exc))
    request_id = _request_id(context)
    log.error("unhandled error in %s (request id %s)", method, request_id, exc_info=exc)
    await abort_with(context, internal_status(request_id))


def _wrap_unary(behavior: UnaryBehavior, method: str) -> UnaryBehavior:
    async def wrapped(request: Any, context: Context) -> Any:
        try:
            return await behavior(request, context)
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise
        except Exception as exc:
            await _handle(context, exc, method)

    return wrapped


def _wrap_stream(behavior: StreamBehavior, method: str) -> StreamBehavior:
    async def wrapped(request: Any, context: Context) -> AsyncIterator[Any]:
        try:
            async for item in behavior(request, context):
                yield item
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise
        except Exception as exc:
            await _handle(context, exc, method)

    return wrapped


class ErrorsInterceptor(grpc.aio.ServerInterceptor):
    """Outermost interceptor: AqueductError -> rich status; anything else -> INTERNAL without details."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method = handler_call_details.method
        return wrap_behaviors(
            handler,
            unary=lambda behavior: _wrap_unary(behavior, method),
            stream=lambda behavior: _wrap_stream(behavior, method),
        )
