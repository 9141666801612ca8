from __future__ import annotations

from tests.integration.mcp.conftest import endpoint, handshake_session
from tests.support.gateway import Gateway


async def test_echo_through_the_gateway(gateway: Gateway, token: str) -> None:
    async with handshake_session(endpoint(gateway, "everything"), token) as session:
        tools = await session.list_tools()
        assert "echo" in {t.name for t in tools.tools}
        result = await session.call_tool("echo", {"message": "hi"})
        assert result.content[0].text == "Echo: hi"
