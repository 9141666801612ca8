"""Fixtures: a fake AdminService on a real grpc.aio server bound to 127.0.0.1 on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from aqueduct.v1 import admin_service_pb2_grpc

from tests.integration.cli.cli_harness import FakeAdminService, FakeCore


@pytest.fixture
async def fake_core() -> AsyncIterator[FakeCore]:
    server = grpc.aio.server()
    # The generated base answers UNIMPLEMENTED for the RPCs the fake does not need.
    service = FakeAdminService()  # type: ignore[abstract]
    admin_service_pb2_grpc.add_AdminServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield FakeCore(address=f"127.0.0.1:{port}", service=service)
    finally:
        await server.stop(None)
