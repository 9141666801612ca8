"""AuthInterceptor on every handler kind: the principal is visible inside the servicer's own task, public
methods pass without credentials, and failures reach the caller as UNAUTHENTICATED."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from core.auth.authenticator import Authenticator
from core.auth.principal import current_principal
from core.db.engine import create_engine
from core.interceptors.auth import AuthInterceptor
from core.interceptors.errors import ErrorsInterceptor
from core.settings import Settings

ADMIN = "sk-admin-kinds"
SERVICE = "test.Echo"


def _who() -> bytes:
    p = current_principal()
    return b"bootstrap-admin" if p.is_bootstrap_admin else (p.user_email or "").encode()


async def unary(request: bytes, context: Any) -> bytes:
    return _who()


async def unary_stream(request: bytes, context: Any) -> AsyncIterator[bytes]:
    for _ in range(3):
        yield _who()


async def stream_unary(requests: AsyncIterator[bytes], context: Any) -> bytes:
    async for _ in requests:
        pass
    return _who()


async def public(request: bytes, context: Any) -> bytes:
    return b"public"


def _handlers() -> grpc.GenericRpcHandler:
    identity = {"request_deserializer": None, "response_serializer": None}
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Unary": grpc.unary_unary_rpc_method_handler(unary, **identity),
            "UnaryStream": grpc.unary_stream_rpc_method_handler(unary_stream, **identity),
            "StreamUnary": grpc.stream_unary_rpc_method_handler(stream_unary, **identity),
        },
    )


def _public_handlers() -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(public)}
    )


@pytest.fixture
async def channel(tmp_path: Any) -> AsyncIterator[grpc.aio.Channel]:
    engine = create_engine(f"sqlite:///{tmp_path}/kinds.db")  # never queried: only the bootstrap token is used
    authenticator = Authenticator(engine, Settings(), ADMIN)
    server = grpc.aio.server(interceptors=[ErrorsInterceptor(), AuthInterceptor(authenticator)])
    server.add_generic_rpc_handlers((_handlers(), _public_handlers()))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    chan = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield chan
    finally:
        await chan.close()
        await server.stop(None)
        await engine.dispose()


AUTH = (("authorization", f"Bearer {ADMIN}"),)


async def test_every_kind_sees_the_principal(channel: grpc.aio.Channel) -> None:
    assert await channel.unary_unary(f"/{SERVICE}/Unary")(b"", metadata=AUTH) == b"bootstrap-admin"
    chunks = [c async for c in channel.unary_stream(f"/{SERVICE}/UnaryStream")(b"", metadata=AUTH)]
    assert chunks == [b"bootstrap-admin"] * 3

    async def requests() -> AsyncIterator[bytes]:
        yield b"a"
        yield b"b"

    assert await channel.stream_unary(f"/{SERVICE}/StreamUnary")(requests(), metadata=AUTH) == b"bootstrap-admin"


@pytest.mark.parametrize("method", ["Unary", "UnaryStream"])
async def test_missing_credentials_are_unauthenticated(channel: grpc.aio.Channel, method: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        if method == "Unary":
            await channel.unary_unary(f"/{SERVICE}/Unary")(b"")
        else:
            [c async for c in channel.unary_stream(f"/{SERVICE}/UnaryStream")(b"")]
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_public_methods_need_no_credentials(channel: grpc.aio.Channel) -> None:
    assert await channel.unary_unary("/grpc.health.v1.Health/Check")(b"") == b"public"
