"""Authenticates every RPC except public ones and puts the caller's Principal in a ContextVar.

The interceptor wraps the method handler instead of authenticating in `intercept_service`: grpc.aio runs the
handler's behavior in its own task, so only a ContextVar set inside that behavior is seen by the servicer.
Failures are raised as domain errors; the errors interceptor (outside this one) renders them as a Status.

It also decides whether the caller is the façade (it presents `facade_secret` in FACADE_CREDENTIAL): only then
are the forwarded client facts believed (core.request_context), and failed authentications are throttled per
client address (core.auth.throttle) - the façade's forwarded one, or the gRPC peer's."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import grpc

from aqueduct_contract import AUTHORIZATION, FACADE_CREDENTIAL, PUBLIC_METHOD_PREFIXES
from core.auth.authenticator import Authenticator
from core.auth.principal import set_principal
from core.interceptors._handlers import Context, Handler, StreamBehavior, UnaryBehavior, wrap_behaviors
from core.request_context import client_address, mark_from_facade

Metadata = Iterable[tuple[str, str | bytes]] | None


def _value(metadata: Metadata, name: str) -> str | None:
    for key, value in metadata or ():
        if key == name:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """`facade_secret` None: no caller is trusted as the façade."""

    def __init__(
        self,
        authenticator: Authenticator,
        public_prefixes: Iterable[str] = PUBLIC_METHOD_PREFIXES,
        *,
        facade_secret: str | None = None,
    ):
        self._authenticator = authenticator
        self._public = tuple(public_prefixes)
        self._facade = facade_secret.encode() if facade_secret else None

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method or ""
        if handler is None or method.startswith(self._public):
            return handler
        metadata: Metadata = handler_call_details.invocation_metadata
        header = _value(metadata, AUTHORIZATION)
        from_facade = self._is_facade(_value(metadata, FACADE_CREDENTIAL))

        def authenticate(context: Context) -> Awaitable[None]:
            mark_from_facade(from_facade)
            return self._authenticate(header, client_address(metadata, context.peer(), from_facade))

        return wrap_behaviors(
            handler,
            unary=lambda behavior: _wrap_unary(behavior, authenticate),
            stream=lambda behavior: _wrap_stream(behavior, authenticate),
        )

    def _is_facade(self, credential: str | None) -> bool:
        if self._facade is None or credential is None:
            return False
        return hmac.compare_digest(credential.encode(), self._facade)

    async def _authenticate(self, header: str | None, client: str | None) -> None:
        set_principal(await self._authenticator.authenticate(header, client))


Authenticate = Callable[[Context], Awaitable[None]]


def _wrap_unary(behavior: UnaryBehavior, authenticate: Authenticate) -> UnaryBehavior:
    async def unary(request: Any, context: Context) -> Any:
        await authenticate(context)
        return await behavior(request, context)

    return unary


def _wrap_stream(behavior: StreamBehavior, authenticate: Authenticate) -> StreamBehavior:
    async def stream(request: Any, context: Context) -> AsyncIterator[Any]:
        await authenticate(context)
        async for item in behavior(request, context):
            yield item

    return stream
