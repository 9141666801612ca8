"""The real core (router, provider adapters, servicers) and the real HTTP façade on loopback, in front of one
provider's loopback stand-in, and an OpenAI SDK client on the façade: what a user of the gateway sees."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import openai

from core.settings import Settings
from tests.integration.resilience.resilience_harness import Gateway, facade, gateway
from tests.support.asgi_server import serve_on_loopback


@dataclass
class Setup:
    client: openai.AsyncOpenAI
    gateway: Gateway


def settings(*entries: dict[str, Any], drop_params: bool = False) -> Settings:
    return Settings.model_validate(
        {
            "model_list": list(entries),
            # Errors reach the client as the upstream gave them: no retries, no cooldown between tests' calls.
            "router_settings": {
                "num_retries": 0,
                "allowed_fails": 1000,
                "cooldown_time": 0,
                "retry_backoff_seconds": 0.01,
            },
            "drop_params": drop_params,
        }
    )


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    async with serve_on_loopback(app) as url:
        yield url


@asynccontextmanager
async def through_gateway(config: Settings) -> AsyncIterator[Setup]:
    async with gateway(config) as gw, facade(gw.target) as base_url, httpx2.AsyncClient() as http:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-caller", max_retries=0, http_client=http)
        yield Setup(client, gw)
