"""Captures the method handlers registered on core's grpc.aio server, so the in-process transport dispatches to
exactly the handlers (and, through the interceptors, exactly the wrapping) the network serves."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc

if TYPE_CHECKING:
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
else:
    Handler = grpc.RpcMethodHandler


@dataclass(slots=True)
class LocalCallDetails:
    """What grpc hands to ServerInterceptor.intercept_service (grpc.HandlerCallDetails)."""

    method: str
    invocation_metadata: tuple[tuple[str, str | bytes], ...]


class HandlerTable:
    """Method name ("/package.Service/Method") -> handler, plus generic handlers asked in order."""

    def __init__(self) -> None:
        self._registered: dict[str, Handler] = {}
        self._generic: list[grpc.GenericRpcHandler] = []

    def add_registered(self, service: str, handlers: Mapping[str, Handler]) -> None:
        for name, handler in handlers.items():
            self._registered[f"/{service}/{name}"] = handler

    def add_generic(self, handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        self._generic.extend(handlers)

    def lookup(self, details: LocalCallDetails) -> Handler | None:
        handler = self._registered.get(details.method)
        if handler is not None:
            return handler
        for generic in self._generic:
            found = generic.service(details)
            if found is not None:
                return found
        return None

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(self._registered)


class RecordingServer(grpc.aio.Server):
    """A grpc.aio server that also records what is registered on it into `table`. It is a grpc.aio.Server
    (reflection checks), and forwards everything to the real one."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server
        self.table = HandlerTable()

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Iterable[grpc.GenericRpcHandler]) -> None:
        generic_rpc_handlers = tuple(generic_rpc_handlers)
        self.table.add_generic(generic_rpc_handlers)
        self._server.add_generic_rpc_handlers(generic_rpc_handlers)

    def add_registered_method_handlers(self, service_name: str, method_handlers: Mapping[str, Handler]) -> None:
        self.table.add_registered(service_name, method_handlers)
        self._server.add_registered_method_handlers(service_name, method_handlers)

    def add_insecure_port(self, address: str) -> int:
        return self._server.add_insecure_port(address)

    def add_secure_port(self, address: str, server_credentials: grpc.ServerCredentials) -> int:
        return self._server.add_secure_port(address, server_credentials)

    async def start(self) -> None:
        await self._server.start()

    async def stop(self, grace: float | None) -> None:
        await self._server.stop(grace)

    async def wait_for_termination(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - grpc's API
        return await self._server.wait_for_termination(timeout)
