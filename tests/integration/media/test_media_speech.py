"""POST /v1/audio/speech through the official SDK: audio relayed as it is produced, every audio format with the
upstream's content type, SSE passed through, the error table, and usage."""

from __future__ import annotations

import base64
import json
import threading

import httpx2
import openai
import pytest

from tests.integration.media.conftest import People, sdk
from tests.support.fake_media_upstream import AUDIO_TYPES, FakeMediaUpstream, Fault, audio_bytes
from tests.support.gateway import Gateway
from tests.support.waiting import wait_until


@pytest.mark.parametrize("v1", [True, False], ids=["v1", "no-prefix"])
def test_speech_bytes_arrive_whole(gateway: Gateway, token: str, media_upstream: FakeMediaUpstream, v1: bool) -> None:
    client = sdk(gateway, token, v1=v1)
    with client.audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input="Hello there", extra_body={"user_id": "listener-1"}
    ) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        assert response.headers["x-aqueduct-model-group"] == "tts"
        audio = response.read()
    assert audio == audio_bytes(media_upstream.audio_size)
    sent = media_upstream.last("/audio/speech").json
    assert sent == {"model": "tts-up", "voice": "alloy", "input": "Hello there"}


@pytest.mark.parametrize("fmt", sorted(AUDIO_TYPES))
def test_speech_formats_keep_upstream_content_type(
    gateway: Gateway, token: str, media_upstream: FakeMediaUpstream, fmt: str
) -> None:
    with sdk(gateway, token).audio.speech.with_streaming_response.create(
        model="voice-model", voice="coral", input="x", response_format=fmt, speed=1.25, instructions="calm"
    ) as response:
        assert response.headers["content-type"] == AUDIO_TYPES[fmt]
        assert response.read() == audio_bytes(media_upstream.audio_size)
    sent = media_upstream.last("/audio/speech").json
    assert sent is not None and sent["speed"] == 1.25 and sent["instructions"] == "calm"


def test_first_audio_bytes_reach_client_before_upstream_finishes(
    gateway: Gateway, token: str, media_upstream: FakeMediaUpstream
) -> None:
    media_upstream.gate = threading.Event()
    with sdk(gateway, token).audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input="slowly"
    ) as response:
        chunks = response.iter_bytes()
        first = next(chunks)
        assert first  # arrived while the upstream is still holding the rest back
        assert not media_upstream.speech_finished.is_set()
        media_upstream.gate.set()
        rest = b"".join(chunks)
    assert first + rest == audio_bytes(media_upstream.audio_size)
    assert media_upstream.speech_finished.is_set()


def test_client_disconnect_mid_audio_closes_upstream_and_records_usage(
    gateway: Gateway, people: People, media_upstream: FakeMediaUpstream
) -> None:
    token = people.token()
    media_upstream.gate = threading.Event()
    with (
        httpx2.Client(timeout=10) as http,
        http.stream(
            "POST",
            gateway.v1 + "/audio/speech",
            headers={"authorization": f"Bearer {token}"},
            json={"model": "tts", "voice": "alloy", "input": "goodbye"},
        ) as response,
    ):
        assert next(response.iter_bytes())
    # The client is gone while the upstream waits; let it go on and see its connection closed.
    media_upstream.gate.set()
    wait_until(lambda: media_upstream.speech_closed_early.is_set())
    assert not media_upstream.speech_finished.is_set()
    rows = wait_until(lambda: _usage_rows(people, status="499"))
    assert rows[0]["model"] == "tts"


def test_speech_sse_passes_events_through(gateway: Gateway, token: str, media_upstream: FakeMediaUpstream) -> None:
    with sdk(gateway, token).audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input="four", stream_format="sse"
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    audio = b"".join(base64.b64decode(e["audio"]) for e in events if e["type"] == "speech.audio.delta")
    assert audio == audio_bytes(media_upstream.audio_size)
    assert events[-1]["type"] == "speech.audio.done" and events[-1]["usage"]["input_tokens"] == 4


def test_speech_retries_a_429_then_succeeds(gateway: Gateway, token: str, media_upstream: FakeMediaUpstream) -> None:
    media_upstream.fail_next("/audio/speech", Fault(429, retry_after="0"), Fault(500))
    with sdk(gateway, token).audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input="again"
    ) as response:
        assert response.read() == audio_bytes(media_upstream.audio_size)
    assert len(media_upstream.requests) == 3


def test_speech_upstream_failures_after_retries(
    gateway: Gateway, token: str, media_upstream: FakeMediaUpstream
) -> None:
    media_upstream.fail_next("/audio/speech", *[Fault(429, retry_after="0")] * 3)
    with pytest.raises(openai.RateLimitError):
        sdk(gateway, token).audio.speech.create(model="tts", voice="alloy", input="no")
    media_upstream.fail_next("/audio/speech", *[Fault(500)] * 3)
    with pytest.raises(openai.InternalServerError):
        sdk(gateway, token).audio.speech.create(model="tts", voice="alloy", input="no")


def test_truncated_audio_is_not_presented_complete(
    gateway: Gateway, token: str, media_upstream: FakeMediaUpstream
) -> None:
    media_upstream.fail_next("/audio/speech", Fault(200, truncate=True))
    speech = sdk(gateway, token).audio.speech.with_streaming_response
    with (
        pytest.raises((httpx2.RemoteProtocolError, openai.APIConnectionError, httpx2.ReadError)),
        speech.create(model="tts", voice="alloy", input="cut") as response,
    ):
        response.read()


def test_truncated_event_stream_ends_with_an_error_event(
    gateway: Gateway, token: str, media_upstream: FakeMediaUpstream
) -> None:
    media_upstream.fail_next("/audio/speech", Fault(200, truncate=True))
    with sdk(gateway, token).audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input="cut", stream_format="sse"
    ) as response:
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert events[0]["type"] == "speech.audio.delta"
    assert "error" in events[-1] and "before it was complete" in events[-1]["error"]["message"]


def test_speech_errors(gateway: Gateway, token: str) -> None:
    client = sdk(gateway, token)
    with pytest.raises(openai.BadRequestError) as wrong:
        client.audio.speech.create(model="chat-model", voice="alloy", input="x")
    assert "chat-model" in wrong.value.message and "/v1/audio/speech" in wrong.value.message
    with pytest.raises(openai.BadRequestError) as wrong:
        client.audio.speech.create(model="painter", voice="alloy", input="x")
    assert "painter" in wrong.value.message
    with pytest.raises(openai.NotFoundError) as unknown:
        client.audio.speech.create(model="nope", voice="alloy", input="x")
    assert unknown.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as missing:
        client.audio.speech.create(model="tts", voice="alloy", input=None)  # type: ignore[arg-type]
    assert missing.value.param == "input"
    with pytest.raises(openai.AuthenticationError):
        sdk(gateway, "sk-not-a-token").audio.speech.create(model="tts", voice="alloy", input="x")


def test_speech_usage_records_characters(gateway: Gateway, people: People) -> None:
    token = people.token()
    sdk(gateway, token).audio.speech.create(model="tts", voice="alloy", input="twelve chars")
    rows = wait_until(lambda: _usage_rows(people, status="200"))
    assert rows[0]["characters"] == 12 and rows[0]["input_tokens"] == 3


def _usage_rows(people: People, **filters: str) -> list[dict[str, object]]:
    out = people.cli("usage", "export", "--org", people.org, "--format", "jsonl").stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [r for r in rows if all(str(r.get(k)) == v for k, v in filters.items())]
