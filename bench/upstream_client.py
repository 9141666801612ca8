"""CPU per request of the upstream HTTP clients in isolation: ``python -m bench.upstream_client``.

Runs the fake upstream in its own process and, in this one, N keep-alive POSTs at concurrency C with
httpx2.AsyncClient and core.upstream_http.UpstreamHTTPClient on uvloop, reporting this process' CPU
time per request (time.process_time) for a non-streaming chat and a 20-chunk stream read to the end."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx2
import orjson
import uvloop

from core.upstream_http import UpstreamHTTPClient
from tests.support.fake_upstream import FakeUpstreamProcess

_CHAT = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
_STREAM = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True})
_HEADERS = {"content-type": "application/json", "authorization": "Bearer sk-bench"}


async def _measure(n: int, c: int, one: Callable[[], Awaitable[None]]) -> float:
    for _ in range(50):
        await one()
    done = 0

    async def worker() -> None:
        nonlocal done
        while done < n:
            done += 1
            await one()

    t0 = time.process_time()
    await asyncio.gather(*(worker() for _ in range(c)))
    return (time.process_time() - t0) * 1000 / done


async def _run(url: str, n: int, c: int) -> None:
    chat_url, limits = f"{url}/v1/chat/completions", httpx2.Limits(max_connections=100)
    async with httpx2.AsyncClient(limits=limits, trust_env=False) as hx:

        async def hx_chat() -> None:
            r = await hx.post(chat_url, content=_CHAT, headers=_HEADERS)
            assert r.status_code == 200 and r.content

        async def hx_stream() -> None:
            async with hx.stream("POST", chat_url, content=_STREAM, headers=_HEADERS) as r:
                async for _ in r.aiter_bytes():
                    pass

        print(f"httpx2        chat   {await _measure(n, c, hx_chat):.3f} ms CPU/request")
        print(f"httpx2        stream {await _measure(n, c, hx_stream):.3f} ms CPU/request")
    lean = UpstreamHTTPClient()
    try:

        async def lean_chat() -> None:
            r = await lean.request("POST", chat_url, headers=_HEADERS, content=_CHAT)
            assert r.status == 200 and await r.aread()

        async def lean_stream() -> None:
            r = await lean.request("POST", chat_url, headers=_HEADERS, content=_STREAM)
            async for _ in r.aiter_bytes():
                pass

        print(f"upstream_http chat   {await _measure(n, c, lean_chat):.3f} ms CPU/request")
        print(f"upstream_http stream {await _measure(n, c, lean_stream):.3f} ms CPU/request")
    finally:
        await lean.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.upstream_client", description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    with FakeUpstreamProcess() as upstream, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_run(upstream.url, args.requests, args.concurrency))


if __name__ == "__main__":
    main()
