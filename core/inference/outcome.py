"""The HTTP-equivalent status and message a usage record gets for how a request ended."""

from __future__ import annotations

import asyncio

import grpc

from core.errors import AqueductError, UpstreamError

CLIENT_CLOSED = 499  # nginx's "client closed request": the caller went away

# The façade's status table (DESIGN.md §4), so usage records show what the client was answered.
_HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: CLIENT_CLOSED,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def outcome_of(exc: BaseException) -> tuple[int, str]:
    """(status, message) for a request that ended with `exc`. Messages are the caller-safe ones."""
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return CLIENT_CLOSED, "The client cancelled the request."
    if isinstance(exc, UpstreamError):
        return exc.upstream_status, exc.message
    if isinstance(exc, AqueductError):
        return _HTTP_STATUS.get(exc.code, 500), exc.message
    return 500, "Internal error."
