"""Authenticates every RPC except public ones and puts the caller's Principal in a ContextVar.

The interceptor wraps the method handler instead of authenticating in `intercept_service`: grpc.aio runs the
handler's behavior in its own task, so only a ContextVar set inside that behavior is seen by the servicer.
Failures are raised as domain errors; the errors interceptor (outside this one) renders them as a Status."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import grpc

from aqueduct_contract import AUTHORIZATION, PUBLIC_METHOD_PREFIXES
from core.auth.authenticator import Authenticator
from core.auth.principal import set_principal
from core.interceptors._handlers import Context, Handler, StreamBehavior, UnaryBehavior, wrap_behaviors


def _header(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    for key, value in metadata or ():
        if key == AUTHORIZATION:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, authenticator: Authenticator, public_prefixes: Iterable[str] = PUBLIC_METHOD_PREFIXES):
        self._authenticator = authenticator
        self._public = tuple(public_prefixes)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method or ""
        if handler is None or method.startswith(self._public):
            return handler
        header = _header(handler_call_details.invocation_metadata)

        def authenticate() -> Awaitable[None]:
            return self._authenticate(header)

        return wrap_behaviors(
            handler,
            unary=lambda behavior: _wrap_unary(behavior, authenticate),
            stream=lambda behavior: _wrap_stream(behavior, authenticate),
        )

    async def _authenticate(self, header: str | None) -> None:
        set_principal(await self._authenticator.authenticate(header))


Authenticate = Callable[[], Awaitable[None]]


def _wrap_unary(behavior: UnaryBehavior, authenticate: Authenticate) -> UnaryBehavior:
    async def unary(request: Any, context: Context) -> Any:
        await authenticate()
        return await behavior(request, context)

    return unary


def _wrap_stream(behavior: StreamBehavior, authenticate: Authenticate) -> StreamBehavior:
    async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
        await authenticate()
        async for item in behavior(request, context):
            yield item

    return stream
