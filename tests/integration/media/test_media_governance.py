"""Media endpoints under governance: an excluded model answers 404 like an unknown one for that org only (another
org keeps it), rate limits answer 429 with OpenAI's headers, and successes carry the x-ratelimit-* headers."""

from __future__ import annotations

import io

import openai
import pytest

from tests.integration.media.conftest import People, sdk
from tests.support.gateway import Gateway
from tests.support.waiting import wait_until


def _hidden(gateway: Gateway, token: str) -> bool:
    try:
        sdk(gateway, token).audio.speech.create(model="tts", voice="alloy", input="x")
    except openai.NotFoundError:
        return True
    return False


def test_excluded_model_is_404_for_that_org_only(gateway: Gateway, people: People) -> None:
    mine = people.token()
    other_org = people.token(org=f"other{people.org}")
    people.cli("exclusions", "add", "--org", people.org, "--model", "voice-model")  # by alias
    people.cli("exclusions", "add", "--org", people.org, "--model", "painter")
    people.cli("exclusions", "add", "--org", people.org, "--model", "whisper")
    wait_until(lambda: _hidden(gateway, mine))
    client = sdk(gateway, mine)
    for call in (
        lambda: client.audio.speech.create(model="voice-model", voice="alloy", input="x"),
        lambda: client.images.generate(model="draw", prompt="x"),
        lambda: client.audio.transcriptions.create(model="ears", file=("a.mp3", io.BytesIO(b"abc"))),
    ):
        with pytest.raises(openai.NotFoundError) as hidden:
            call()
        assert hidden.value.code == "model_not_found"
    # Another org's tokens are untouched by this org's exclusions.
    other = sdk(gateway, other_org)
    assert other.audio.speech.create(model="tts", voice="alloy", input="x").content
    assert other.images.generate(model="painter", prompt="x").data
    assert other.audio.transcriptions.create(model="whisper", file=("a.mp3", b"abc")).text


def test_rate_limit_429_with_headers(gateway: Gateway, people: People) -> None:
    token = people.token()
    people.cli("limits", "set", "--org", people.org, "--rpm", "2")
    client = sdk(gateway, token)

    def limited() -> bool:
        raw = client.images.with_raw_response.generate(model="painter", prompt="x")
        return raw.headers.get("x-ratelimit-limit-requests") == "2"

    wait_until(limited)
    with pytest.raises(openai.RateLimitError) as refused:
        for _ in range(3):
            client.audio.speech.create(model="tts", voice="alloy", input="x")
    headers = refused.value.response.headers
    assert int(headers["retry-after"]) >= 1
    assert headers["x-ratelimit-limit-requests"] == "2" and headers["x-ratelimit-remaining-requests"] == "0"
