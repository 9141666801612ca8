"""POST /v1/images/generations through the official SDK: parameters and unknown fields pass through, several-MB
base64 answers come back intact, usage is recorded, and the error table is chat's."""

from __future__ import annotations

import base64
import json

import httpx2
import openai
import pytest

from tests.integration.media.conftest import People, sdk
from tests.support.fake_media_upstream import FakeMediaUpstream, Fault
from tests.support.gateway import Gateway
from tests.support.waiting import wait_until


@pytest.mark.parametrize("v1", [True, False], ids=["v1", "no-prefix"])
def test_generate_passes_parameters_and_unknown_fields(
    gateway: Gateway, token: str, media_upstream: FakeMediaUpstream, v1: bool
) -> None:
    result = sdk(gateway, token, v1=v1).images.generate(
        model="draw",
        prompt="a lighthouse",
        n=2,
        size="1024x1024",
        quality="high",
        background="transparent",
        output_format="webp",
        user="end-user",
        extra_body={"moderation": "low", "user_id": "painter-1", "future_knob": {"depth": [1, 2.5]}},
    )
    assert len(result.data) == 2 and result.data[0].b64_json
    assert result.usage is not None and result.usage.input_tokens == 11 and result.usage.output_tokens == 2112
    assert result.output_format == "webp"
    sent = media_upstream.last("/images/generations").json
    assert sent == {
        "model": "gpt-image-up",
        "prompt": "a lighthouse",
        "n": 2,
        "size": "1024x1024",
        "quality": "high",
        "background": "transparent",
        "output_format": "webp",
        "user": "end-user",
        "moderation": "low",
        "future_knob": {"depth": [1, 2.5]},
    }


def test_url_format_and_revised_prompt(gateway: Gateway, token: str) -> None:
    result = sdk(gateway, token).images.generate(model="dalle", prompt="a cat", response_format="url", style="vivid")
    assert result.data[0].url == "https://images.example/0.png"
    assert result.data[0].revised_prompt == "a cat"
    assert result.usage is None


def test_multi_megabyte_answer_is_intact(gateway: Gateway, token: str, media_upstream: FakeMediaUpstream) -> None:
    media_upstream.image_bytes = 2 * 1024 * 1024
    result = sdk(gateway, token).images.generate(model="painter", prompt="big", n=3)
    assert len(result.data) == 3
    assert all(base64.b64decode(d.b64_json or "") == bytes(2 * 1024 * 1024) for d in result.data)


def test_image_errors(gateway: Gateway, token: str, media_upstream: FakeMediaUpstream) -> None:
    client = sdk(gateway, token)
    with pytest.raises(openai.BadRequestError) as wrong:
        client.images.generate(model="tts", prompt="x")
    assert "tts" in wrong.value.message and "/v1/images/generations" in wrong.value.message
    with pytest.raises(openai.NotFoundError):
        client.images.generate(model="missing", prompt="x")
    with pytest.raises(openai.BadRequestError) as bad:
        client.images.generate(model="painter", prompt="x", n="two")  # type: ignore[arg-type]
    assert bad.value.param == "n"
    with pytest.raises(openai.BadRequestError) as streamed:
        client.images.generate(model="painter", prompt="x", stream=True)  # type: ignore[call-overload]
    assert streamed.value.param == "stream"
    media_upstream.fail_next("/images/generations", Fault(500), Fault(429, retry_after="0"))
    assert client.images.generate(model="painter", prompt="retried").data
    media_upstream.fail_next("/images/generations", *[Fault(503)] * 3)
    with pytest.raises(openai.InternalServerError):
        client.images.generate(model="painter", prompt="x")
    raw = httpx2.post(gateway.v1 + "/images/generations", json={"model": "painter", "prompt": "x"})
    assert raw.status_code == 401


def test_image_usage_counts_images_and_tokens(gateway: Gateway, people: People) -> None:
    token = people.token()
    sdk(gateway, token).images.generate(model="painter", prompt="two please", n=2)
    sdk(gateway, token).images.generate(model="dalle", prompt="sixteen chars ok")

    def rows() -> list[dict[str, object]]:
        out = people.cli("usage", "export", "--org", people.org, "--format", "jsonl").stdout
        found = [json.loads(line) for line in out.splitlines() if line.strip()]
        return found if len(found) == 2 else []

    by_model = {r["model"]: r for r in wait_until(rows)}
    assert by_model["painter"]["images"] == 2
    assert by_model["painter"]["input_tokens"] == 11 and by_model["painter"]["output_tokens"] == 2112
    assert by_model["dalle"]["images"] == 1 and by_model["dalle"]["input_tokens"] == 4
