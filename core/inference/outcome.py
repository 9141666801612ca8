"""The HTTP-equivalent status and message a usage record gets for how a request ended."""

from __future__ import annotations

import asyncio

from aqueduct_contract import CLIENT_CLOSED_REQUEST, http_status
from core.errors import AqueductError, UpstreamError


def outcome_of(exc: BaseException) -> tuple[int, str]:
    """(status, message) for a request that ended with `exc`: the status the façade answers with (the one
    gRPC <-> HTTP table), so usage records show what the client was answered. Messages are the caller-safe
    ones."""
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return CLIENT_CLOSED_REQUEST, "The client cancelled the request."
    if isinstance(exc, UpstreamError):
        return exc.status, exc.message
    if isinstance(exc, AqueductError):
        return http_status(exc.code), exc.message
    return 500, "Internal error."
