"""Fixtures: a fake core (grpc.aio on 127.0.0.1:0) and the real façade served by uvicorn on 127.0.0.1:0, shared
by the tests of a module (each module runs on one event loop: `pytestmark = pytest.mark.asyncio(loop_scope=
"module")`). HTTP clients are built with verify=False: loading the CA bundle costs ~0.2 s and these are
plain-http loopback connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2
import openai
import pytest
import pytest_asyncio

from http_facade.app import create_app
from http_facade.settings import FacadeSettings
from tests.integration.facade.facade_fake_core import FakeCore
from tests.support.asgi_server import serve_on_loopback

KEEPALIVE_SECONDS = 0.1


async def serve_facade(core_target: str) -> AsyncIterator[str]:
    app = create_app(core_target, settings=FacadeSettings(stream_keepalive_seconds=KEEPALIVE_SECONDS))
    async with serve_on_loopback(app) as url:
        yield url


def sdk(base_url: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=base_url, api_key="sk-test", max_retries=0, http_client=httpx2.AsyncClient(verify=False)
    )


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake_core() -> AsyncIterator[FakeCore]:
    core = FakeCore()
    await core.start()
    try:
        yield core
    finally:
        await core.stop()


@pytest.fixture(autouse=True)
def _fresh_recordings(request: pytest.FixtureRequest) -> None:
    if "fake_core" in request.fixturenames:
        core: FakeCore = request.getfixturevalue("fake_core")
        core.calls.clear()
        core.cancelled = asyncio.Event()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def facade_url(fake_core: FakeCore) -> AsyncIterator[str]:
    async for url in serve_facade(fake_core.target):
        yield url


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def http(facade_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    # A bearer of the right form: the façade answers 401 before reading the body of a request without one.
    headers = {"authorization": "Bearer sk-test"}
    async with httpx2.AsyncClient(base_url=facade_url, verify=False, headers=headers) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client(facade_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with sdk(f"{facade_url}/v1") as client:
        yield client


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client_no_prefix(facade_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with sdk(facade_url) as client:
        yield client


@pytest.fixture(params=["/v1", ""], ids=["v1", "no-prefix"])
def any_client(
    request: pytest.FixtureRequest, client: openai.AsyncOpenAI, client_no_prefix: openai.AsyncOpenAI
) -> openai.AsyncOpenAI:
    return client if request.param == "/v1" else client_no_prefix
