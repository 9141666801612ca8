"""POST /v1/audio/transcriptions and /translations through the official SDK: the upload reaches the upstream
intact as multipart, every response format comes back with its content type, streaming, size limits, errors and
usage."""

from __future__ import annotations

import hashlib
import io
import json

import httpx2
import openai
import pytest

from tests.integration.media.conftest import People, sdk
from tests.support.fake_media_upstream import FakeMediaUpstream, Fault
from tests.support.gateway import Gateway
from tests.support.waiting import wait_until

AUDIO = bytes(range(256)) * 800  # 204,800 bytes


def _heard(data: bytes) -> str:
    return f"heard {len(data)} bytes sha256 {hashlib.sha256(data).hexdigest()[:12]}"


@pytest.mark.parametrize("v1", [True, False], ids=["v1", "no-prefix"])
def test_transcription_json(gateway: Gateway, token: str, media_upstream: FakeMediaUpstream, v1: bool) -> None:
    result = sdk(gateway, token, v1=v1).audio.transcriptions.create(
        model="ears",
        file=("lecture.mp3", io.BytesIO(AUDIO), "audio/mpeg"),
        language="en",
        prompt="physics",
        temperature=0.2,
        extra_body={"user_id": "student-7"},
    )
    assert result.text == _heard(AUDIO)
    sent = media_upstream.last("/audio/transcriptions")
    assert sent.file_name == "lecture.mp3" and sent.file_type == "audio/mpeg"
    assert sent.file_sha256 == hashlib.sha256(AUDIO).hexdigest()
    fields = dict(sent.fields)
    assert fields == {
        "model": "whisper-up",
        "language": "en",
        "prompt": "physics",
        "temperature": "0.2",
        "response_format": "json",
    } or fields == {"model": "whisper-up", "language": "en", "prompt": "physics", "temperature": "0.2"}


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("text", "text/plain"), ("srt", "text/plain"), ("vtt", "text/vtt"), ("verbose_json", "application/json")],
)
def test_transcription_text_formats(gateway: Gateway, token: str, fmt: str, content_type: str) -> None:
    raw = sdk(gateway, token).audio.transcriptions.with_raw_response.create(
        model="whisper",
        file=("a.wav", AUDIO, "audio/wav"),
        response_format=fmt,  # type: ignore[arg-type]
    )
    assert raw.headers["content-type"].startswith(content_type)
    parsed = raw.parse()
    text = parsed if isinstance(parsed, str) else parsed.text
    assert _heard(AUDIO) in text
    if fmt == "srt":
        assert "00:00:12,800" in text  # 204,800 bytes at the fake's 16,000 per second


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks translations deprecated
def test_translation(gateway: Gateway, token: str, media_upstream: FakeMediaUpstream) -> None:
    result = sdk(gateway, token).audio.translations.create(
        model="whisper", file=("de.mp3", AUDIO), response_format="verbose_json"
    )
    assert result.text == _heard(AUDIO)
    assert media_upstream.last("/audio/translations").file_size == len(AUDIO)


def test_transcription_stream(gateway: Gateway, token: str) -> None:
    events = list(
        sdk(gateway, token).audio.transcriptions.create(model="transcribe-4o", file=("a.mp3", AUDIO), stream=True)
    )
    deltas = "".join(e.delta for e in events if e.type == "transcript.text.delta")
    assert deltas.strip() == _heard(AUDIO)
    done = events[-1]
    assert done.type == "transcript.text.done" and done.usage is not None


def test_file_first_form_as_curl_sends_it(gateway: Gateway, token: str, media_upstream: FakeMediaUpstream) -> None:
    files = [("file", ("first.mp3", AUDIO, "audio/mpeg")), ("model", (None, "whisper")), ("language", (None, "fr"))]
    response = httpx2.post(
        gateway.v1 + "/audio/transcriptions", headers={"authorization": f"Bearer {token}"}, files=files
    )
    assert response.status_code == 200, response.text
    assert response.json()["text"] == _heard(AUDIO)
    assert dict(media_upstream.last("/audio/transcriptions").fields)["language"] == "fr"


def test_upload_over_25_mb_is_refused_before_forwarding(
    gateway: Gateway, token: str, media_upstream: FakeMediaUpstream
) -> None:
    too_big = bytes(25 * 1024 * 1024 + 1)
    with pytest.raises(openai.APIStatusError) as refused:
        sdk(gateway, token).audio.transcriptions.create(model="whisper", file=("big.wav", too_big))
    assert refused.value.status_code == 413
    assert media_upstream.started == []
    exact = bytes(25 * 1024 * 1024)
    assert sdk(gateway, token).audio.transcriptions.create(model="whisper", file=("ok.wav", exact)).text == _heard(
        exact
    )


def test_upload_retried_on_another_attempt_is_sent_whole(
    gateway: Gateway, token: str, media_upstream: FakeMediaUpstream
) -> None:
    media_upstream.fail_next("/audio/transcriptions", Fault(500), Fault(429, retry_after="0"))
    result = sdk(gateway, token).audio.transcriptions.create(model="whisper", file=("r.mp3", AUDIO))
    assert result.text == _heard(AUDIO)
    assert [r.file_size for r in media_upstream.requests] == [len(AUDIO)] * 3
    media_upstream.fail_next("/audio/transcriptions", *[Fault(502)] * 3)
    with pytest.raises(openai.InternalServerError):
        sdk(gateway, token).audio.transcriptions.create(model="whisper", file=("r.mp3", AUDIO))


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")
def test_transcription_errors(gateway: Gateway, token: str) -> None:
    client = sdk(gateway, token)
    with pytest.raises(openai.BadRequestError) as wrong:
        client.audio.transcriptions.create(model="tts", file=("a.mp3", AUDIO))
    assert "tts" in wrong.value.message and "/v1/audio/transcriptions" in wrong.value.message
    with pytest.raises(openai.BadRequestError) as wrong:
        client.audio.translations.create(model="chat-model", file=("a.mp3", AUDIO))
    assert "/v1/audio/translations" in wrong.value.message
    with pytest.raises(openai.NotFoundError):
        client.audio.transcriptions.create(model="nope", file=("a.mp3", AUDIO))
    with pytest.raises(openai.BadRequestError) as bad:
        client.audio.transcriptions.create(
            model="whisper",
            file=("a.mp3", AUDIO),
            response_format="xml",  # type: ignore[arg-type]
        )
    assert bad.value.param == "response_format"
    headers = {"authorization": f"Bearer {token}"}
    no_file = httpx2.post(gateway.v1 + "/audio/transcriptions", headers=headers, files={"model": (None, "whisper")})
    assert no_file.status_code == 400 and no_file.json()["error"]["param"] == "file"
    as_json = httpx2.post(gateway.v1 + "/audio/transcriptions", headers=headers, json={"model": "whisper"})
    assert as_json.status_code == 400
    anonymous = httpx2.post(gateway.v1 + "/audio/transcriptions", files={"file": ("a.mp3", AUDIO)})
    assert anonymous.status_code == 401


def test_transcription_usage_records_seconds_and_tokens(gateway: Gateway, people: People) -> None:
    token = people.token()
    sdk(gateway, token).audio.transcriptions.create(model="whisper", file=("a.mp3", AUDIO))
    sdk(gateway, token).audio.transcriptions.create(model="transcribe-4o", file=("a.mp3", AUDIO))

    def rows() -> list[dict[str, object]]:
        out = people.cli("usage", "export", "--org", people.org, "--format", "jsonl").stdout
        found = [json.loads(line) for line in out.splitlines() if line.strip()]
        return found if len(found) == 2 else []

    by_model = {r["model"]: r for r in wait_until(rows)}
    assert by_model["whisper"]["audio_seconds"] == pytest.approx(12.8)
    assert by_model["transcribe-4o"]["input_tokens"] == 40 and by_model["transcribe-4o"]["output_tokens"] == 9
