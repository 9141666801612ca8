"""Media end-to-end fixtures: the fake media upstream and a real `aqueduct serve` in front of it, once per façade
-> core transport (the in-process channel, and loopback gRPC, where client streaming crosses the network)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support.fake_media_upstream import API_KEY, FakeMediaUpstream
from tests.support.gateway import ADMIN_TOKEN, Gateway
from tests.support.sdk import sdk_client

TRANSPORT_ENV = "AQUEDUCT_CORE_TRANSPORT"


def media_config(upstream: FakeMediaUpstream, db_url: str) -> dict[str, Any]:
    def model(name: str, mode: str, upstream_model: str, aliases: list[str] | None = None) -> dict[str, Any]:
        return {
            "model_name": name,
            "litellm_params": {
                "model": f"openai/{upstream_model}",
                "api_base": upstream.base_url,
                "api_key": API_KEY,
            },
            "model_info": {"mode": mode, "aliases": aliases or []},
        }

    return {
        "database_url": db_url,
        "usage_flush_interval_seconds": 0.05,
        "governance_cache_ttl_seconds": 0.2,
        "router_settings": {"num_retries": 2, "retry_backoff_seconds": 0.01, "allowed_fails": 1000},
        "model_list": [
            model("tts", "audio_speech", "tts-up", ["voice-model"]),
            model("painter", "image_generation", "gpt-image-up", ["draw"]),
            model("dalle", "image_generation", "dalle-up"),
            model("whisper", "audio_transcription", "whisper-up", ["ears"]),
            model("transcribe-4o", "audio_transcription", "gpt-4o-transcribe-up"),
            model("chat-model", "chat", "chat-up"),
        ],
    }


@pytest.fixture(scope="session")
def media_upstream() -> Iterator[FakeMediaUpstream]:
    with FakeMediaUpstream() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh_upstream(media_upstream: FakeMediaUpstream) -> Iterator[None]:
    media_upstream.reset()
    yield
    if media_upstream.gate is not None:
        media_upstream.gate.set()


@pytest.fixture(scope="session", params=["local", "tcp"])
def gateway(
    request: pytest.FixtureRequest, media_upstream: FakeMediaUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp(f"gw-media-{request.param}")
    db_url = f"sqlite:///{workdir / 'aqueduct.db'}"
    gw = Gateway(media_config(media_upstream, db_url), workdir, env={TRANSPORT_ENV: str(request.param)})
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


class People:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.org = f"media{uuid.uuid4().hex[:8]}"

    def token(self, org: str | None = None) -> str:
        return self.gateway.create_user_token(org or self.org, f"u{uuid.uuid4().hex[:10]}@media.test")

    def cli(self, *args: str) -> Any:
        return self.gateway.cli(*args, token=ADMIN_TOKEN)


@pytest.fixture
def people(gateway: Gateway) -> People:
    return People(gateway)


@pytest.fixture
def token(people: People) -> str:
    return people.token()


def sdk(gateway: Gateway, token: str, *, v1: bool = True, **kwargs: Any) -> openai.OpenAI:
    return sdk_client(base_url=gateway.v1 if v1 else gateway.base_url, api_key=token, max_retries=0, **kwargs)
