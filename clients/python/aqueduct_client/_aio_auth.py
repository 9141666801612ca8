"""grpc.aio client interceptors that attach the bearer token (and a default deadline) to every call, so every
stub on the channel, including the raw tenancy stubs, is authorized without per-call code.

Two classes, not one: grpc.aio files each interceptor object under the first call kind it matches, so an
object implementing both unary-unary and unary-stream would never see streaming calls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from grpc import aio

from aqueduct_client._bearer import bearer_metadata

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


class _Authorizer:
    def __init__(self, token: str, default_timeout: float | None) -> None:
        self._metadata = bearer_metadata(token)
        self._default_timeout = default_timeout

    def authorize(self, details: aio.ClientCallDetails) -> aio.ClientCallDetails:
        metadata = aio.Metadata(*(details.metadata or ()), *self._metadata)
        timeout = details.timeout if details.timeout is not None else self._default_timeout
        return aio.ClientCallDetails(details.method, timeout, metadata, details.credentials, details.wait_for_ready)


class _UnaryUnaryBearer(aio.UnaryUnaryClientInterceptor):
    def __init__(self, authorizer: _Authorizer) -> None:
        self._authorizer = authorizer

    async def intercept_unary_unary(
        self,
        continuation: Callable[[aio.ClientCallDetails, _Request], Awaitable[aio.UnaryUnaryCall[_Request, _Response]]],
        client_call_details: aio.ClientCallDetails,
        request: _Request,
    ) -> _Response | aio.UnaryUnaryCall[_Request, _Response]:
        return await continuation(self._authorizer.authorize(client_call_details), request)


class _UnaryStreamBearer(aio.UnaryStreamClientInterceptor):
    def __init__(self, authorizer: _Authorizer) -> None:
        self._authorizer = authorizer

    async def intercept_unary_stream(
        self,
        continuation: Callable[[aio.ClientCallDetails, _Request], Awaitable[aio.UnaryStreamCall[_Request, _Response]]],
        client_call_details: aio.ClientCallDetails,
        request: _Request,
    ) -> AsyncIterator[_Response] | aio.UnaryStreamCall[_Request, _Response]:
        return await continuation(self._authorizer.authorize(client_call_details), request)


def bearer_interceptors(token: str, default_timeout: float | None) -> list[aio.ClientInterceptor]:
    """Interceptors for aio.insecure_channel / secure_channel covering unary and server-streaming calls."""
    authorizer = _Authorizer(token, default_timeout)
    return [_UnaryUnaryBearer(authorizer), _UnaryStreamBearer(authorizer)]
