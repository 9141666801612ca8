"""CPU per request of the upstream call in isolation: ``python -m bench.upstream_client``.

Runs the fake upstream in its own process and, in this one on uvloop, N calls at concurrency C of
core.providers.OpenAICompatibleProvider (non-streaming chat, a 20-chunk stream read to the end, embeddings),
and of a bare aiohttp ClientSession.post for comparison, reporting this process' CPU time per request
(time.process_time)."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import time
from collections.abc import Awaitable, Callable

import aiohttp
import orjson
import uvloop

from core.providers import OpenAICompatibleProvider
from core.routing import ModelRegistry
from core.settings import Settings
from tests.support.fake_upstream import FakeUpstreamProcess

_CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
_EMBED = {"model": "e", "input": "hi", "encoding_format": "base64"}


async def _measure(n: int, c: int, one: Callable[[], Awaitable[None]]) -> float:
    for _ in range(100):
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


def _provider(base_url: str) -> OpenAICompatibleProvider:
    entry = {"model_name": "m", "litellm_params": {"model": "openai/m", "api_base": base_url, "api_key": "sk-b"}}
    registry = ModelRegistry.from_settings(Settings.model_validate({"model_list": [entry]}))
    return OpenAICompatibleProvider(registry.resolve("m").deployments[0])


async def _run(base_url: str, n: int, c: int, only: str | None) -> None:
    provider = _provider(base_url)

    async def chat() -> None:
        assert (await provider.chat_completion(_CHAT, request_id="r"))["choices"]

    async def stream() -> None:
        async for _ in await provider.stream_chat_completion({**_CHAT, "stream": True}, request_id="r"):
            pass

    async def embed() -> None:
        assert (await provider.embeddings(_EMBED, request_id="r"))["data"]

    chat_url, body = f"{base_url}/chat/completions", orjson.dumps(_CHAT)
    headers = {"content-type": "application/json", "authorization": "Bearer sk-b"}

    async with aiohttp.ClientSession() as session:

        async def bare_chat() -> None:
            async with session.post(chat_url, data=body, headers=headers) as r:
                assert r.status == 200 and await r.read()

        calls = {"provider chat": chat, "provider stream": stream, "provider embed": embed, "aiohttp chat": bare_chat}
        try:
            for name, one in calls.items():
                if only is None or only in name:
                    print(f"{name:16} c={c:<3} {await _measure(n, c, one):.3f} ms CPU/request", flush=True)
        finally:
            await provider.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.upstream_client", description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--concurrency", default="1,16", help="comma-separated")
    ap.add_argument("--only", help="run the calls whose name contains this (e.g. chat, stream)")
    ap.add_argument("--profile", help="write a cProfile of the run to this file")
    args = ap.parse_args()
    profiler = cProfile.Profile() if args.profile else None
    with FakeUpstreamProcess() as upstream, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        if profiler is not None:
            profiler.enable()
        for c in (int(x) for x in args.concurrency.split(",")):
            runner.run(_run(upstream.url + "/v1", args.requests, c, args.only))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
