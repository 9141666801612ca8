"""Fixtures: fake tenancy services on a real grpc.aio server bound to 127.0.0.1 on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from tests.integration.cli.cli_harness import FakeCore, FakeTenancy


@pytest.fixture
async def fake_core() -> AsyncIterator[FakeCore]:
    server = grpc.aio.server()
    service = FakeTenancy()
    service.add_to(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield FakeCore(address=f"127.0.0.1:{port}", service=service)
    finally:
        await server.stop(None)
