"""The real inference services (router, providers, servicers) on grpc.aio at 127.0.0.1:0, in front of the
shared fake upstream. A test-only interceptor sets the principal (the real AuthInterceptor needs a database:
metadata `x-test-principal: admin` picks the bootstrap admin); the real ErrorsInterceptor renders errors."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
from aqueduct.v1 import chat_service_pb2_grpc, model_service_pb2_grpc

from aqueduct_openai import chat_params_from_json
from core.auth.principal import Principal, Role, set_principal
from core.interceptors.errors import ErrorsInterceptor
from core.services.inference_deps import InferenceRuntime, add_inference_services
from core.settings import Settings
from core.usage.events import UsageEvent
from http_facade.app import create_app
from http_facade.settings import FacadeSettings
from tests.support.asgi_server import serve_on_loopback
from tests.support.fake_upstream import FakeUpstream

KEY = "sk-upstream-resilience"
USER = Principal(role=Role.USER, token_id="tok-r", user_id="user-r", org_id="org-r")
ADMIN = Principal(role=Role.ADMIN, is_bootstrap_admin=True)
ADMIN_METADATA = (("x-test-principal", "admin"),)


class SetPrincipal(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        principal = ADMIN if ("x-test-principal", "admin") in tuple(details.invocation_metadata or ()) else USER
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            async def unary(request: Any, context: Any) -> Any:
                set_principal(principal)
                return await inner(request, context)

            return handler._replace(unary_unary=unary)
        inner_stream = handler.unary_stream
        assert inspect.isasyncgenfunction(inner_stream)

        async def stream(request: Any, context: Any) -> Any:
            set_principal(principal)
            async for item in inner_stream(request, context):
                yield item

        return handler._replace(unary_stream=stream)


# Longest wait for usage events a test expects.
USAGE_WAIT_SECONDS = 5.0


class ListSink:
    def __init__(self) -> None:
        self.events: list[UsageEvent] = []
        self._changed = asyncio.Event()

    def begin(self, event: UsageEvent) -> int | None:
        return None

    def record(self, event: UsageEvent, begun: int | None = None) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, n: int) -> list[UsageEvent]:
        async with asyncio.timeout(USAGE_WAIT_SECONDS):
            while len(self.events) < n:
                self._changed.clear()
                await self._changed.wait()
        return self.events


class Gateway:
    def __init__(self, runtime: InferenceRuntime, channel: grpc.aio.Channel, sink: ListSink, port: int) -> None:
        self.runtime = runtime
        self.chat = chat_service_pb2_grpc.ChatServiceStub(channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(channel)
        self.sink = sink
        self.target = f"127.0.0.1:{port}"


def deployment(
    name: str, upstream: FakeUpstream, tag: str, knobs: dict[str, object] | None = None, **params: Any
) -> dict[str, Any]:
    """A model_list entry on the fake upstream whose upstream model name is `tag`; `knobs` become
    x-fake-* headers on every request of this deployment (its own behaviour: failing, slow, ...)."""
    headers = {f"x-fake-{k.replace('_', '-')}": str(v) for k, v in (knobs or {}).items()}
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"openai/{tag}",
            "api_base": upstream.base_url,
            "api_key": KEY,
            "extra_headers": headers,
            **params,
        },
    }


def settings_of(*entries: dict[str, Any], **router_settings: Any) -> Settings:
    router_settings.setdefault("retry_backoff_seconds", 0.01)
    return Settings.model_validate({"model_list": list(entries), "router_settings": router_settings})


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    sink = ListSink()
    server = grpc.aio.server(interceptors=[ErrorsInterceptor(), SetPrincipal()])
    runtime = await add_inference_services(server, settings, sink)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Gateway(runtime, channel, sink, port)
    finally:
        await channel.close()
        await server.stop(None)
        await runtime.aclose()


@asynccontextmanager
async def facade(core_target: str) -> AsyncIterator[str]:
    """The real HTTP façade (uvicorn on 127.0.0.1:0) in front of `core_target`; yields its /v1 base URL."""
    app = create_app(core_target, settings=FacadeSettings(stream_keepalive_seconds=0.1))
    async with serve_on_loopback(app) as url:
        yield url + "/v1"


def chat(model: str, **extra: Any) -> Any:
    return chat_params_from_json({"model": model, "messages": [{"role": "user", "content": "ping"}], **extra})


def initial(metadata: Any) -> dict[str, str]:
    return {k: v for k, v in metadata or () if isinstance(v, str)}
