"""The end-to-end suite runs over both façade -> core transports; this checks the gateway really uses the one
each run asks for, so the tcp runs cannot silently fall back to the in-process channel."""

from __future__ import annotations

from tests.integration.e2e.conftest import client
from tests.support.gateway import Gateway
from tests.support.proc_net import connections_to_port


def test_facade_reaches_core_over_the_transport_asked_for(
    gateway: Gateway, user_token: str, core_transport: str
) -> None:
    assert client(gateway, user_token).models.list().data  # the façade has called core at least once
    assert gateway.proc is not None
    core_port = int(gateway.core_target.rsplit(":", 1)[1])
    over_tcp = connections_to_port(gateway.proc.pid, core_port)
    assert (over_tcp > 0) == (core_transport == "tcp"), over_tcp
