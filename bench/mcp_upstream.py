"""The MCP upstream of the media/MCP benchmark, in a process of its own: ``python -m bench.mcp_upstream PORT``.

The official Python SDK's server (stateless streamable HTTP, the 2026-07-28 generation) with the test suite's
`echo`, plus `stamped_progress`, whose progress notifications carry the upstream's CLOCK_MONOTONIC time of sending
(in ns, as the message) so a client on the same machine can tell how long each one took to reach it."""

from __future__ import annotations

import asyncio
import sys
import time

import uvicorn
from mcp.server.mcpserver import Context, MCPServer


def server() -> MCPServer:
    srv = MCPServer("aqueduct-bench")

    @srv.tool()
    def echo(message: str) -> str:
        """Echoes the message back."""
        return f"Echo: {message}"

    @srv.tool()
    async def stamped_progress(steps: int, interval_ms: float, ctx: Context) -> str:
        """Reports progress `steps` times, `interval_ms` apart; each message is the send time in ns."""
        for step in range(1, steps + 1):
            await ctx.report_progress(step, steps, str(time.monotonic_ns()))
            await asyncio.sleep(interval_ms / 1000)
        return f"sent {steps}"

    return srv


def main() -> None:
    app = server().streamable_http_app(stateless_http=True)
    config = uvicorn.Config(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
