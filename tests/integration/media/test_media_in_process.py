"""Core's media services and the façade in this process (over the in-process channel, with messages copied as
the network would), so the path is measured by coverage: the official async SDK against the real façade on
loopback, the real inference services, and the fake media upstream. Usage events are checked as core emits them."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import httpx2
import openai
import pytest

from core.auth.principal import set_principal
from core.interceptors._handlers import StreamBehavior, UnaryBehavior, wrap_behaviors
from core.interceptors.errors import ErrorsInterceptor
from core.services.inference_deps import add_inference_services
from core.settings import Settings
from core.transport import LocalChannel, LocalChannelSettings, RecordingServer
from http_facade.app import create_app
from http_facade.settings import FacadeSettings
from tests.integration.resilience.resilience_harness import USER, ListSink
from tests.support.asgi_server import serve_on_loopback
from tests.support.fake_media_upstream import API_KEY, FakeMediaUpstream, Fault, audio_bytes

AUDIO = bytes(range(256)) * 400


class SetUser(grpc.aio.ServerInterceptor):
    """Stands in for the auth interceptor (which needs a database): every call is USER's."""

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None

        def unary(behavior: UnaryBehavior) -> UnaryBehavior:
            async def call(request: Any, context: Any) -> Any:
                set_principal(USER)
                return await behavior(request, context)

            return call

        def stream(behavior: StreamBehavior) -> StreamBehavior:
            async def call(request: Any, context: Any) -> AsyncIterator[Any]:
                set_principal(USER)
                async for item in behavior(request, context):
                    yield item

            return call

        return wrap_behaviors(handler, unary=unary, stream=stream)


@pytest.fixture(scope="module")
def upstream() -> Any:
    with FakeMediaUpstream(audio_size=4096, audio_chunks=4) as fake:
        yield fake


def _settings(upstream: FakeMediaUpstream) -> Settings:
    def model(name: str, mode: str, upstream_model: str) -> dict[str, Any]:
        params = {"model": f"openai/{upstream_model}", "api_base": upstream.base_url, "api_key": API_KEY}
        return {"model_name": name, "litellm_params": params, "model_info": {"mode": mode}}

    return Settings.model_validate(
        {
            "max_upload_bytes": 300_000,
            "router_settings": {"retry_backoff_seconds": 0.01, "allowed_fails": 1000},
            "model_list": [
                model("tts", "audio_speech", "tts-up"),
                model("painter", "image_generation", "gpt-image-up"),
                model("whisper", "audio_transcription", "whisper-up"),
                model("chat-model", "chat", "chat-up"),
                {
                    "model_name": "mock-tts",
                    "litellm_params": {"model": "mock/x"},
                    "model_info": {"mode": "audio_speech"},
                },
            ],
        }
    )


class Stack:
    def __init__(self, url: str, sink: ListSink) -> None:
        self.url = url
        self.sink = sink
        self.client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-user", max_retries=0)


@pytest.fixture
async def stack(upstream: FakeMediaUpstream) -> AsyncIterator[Stack]:
    upstream.reset()
    settings = _settings(upstream)
    sink = ListSink()
    interceptors = [ErrorsInterceptor(), SetUser()]
    server = RecordingServer(grpc.aio.server(interceptors=interceptors))
    runtime = await add_inference_services(server, settings, sink)
    channel = LocalChannel(server.table, interceptors, LocalChannelSettings(copy_messages=True))
    facade_settings = FacadeSettings(max_upload_bytes=settings.max_upload_bytes)
    app = create_app("in-process", settings=facade_settings, core_channel=lambda: channel)
    try:
        async with serve_on_loopback(app) as url:
            made = Stack(url, sink)
            try:
                yield made
            finally:
                await made.client.close()
    finally:
        await runtime.aclose()


async def test_speech_audio_and_events(stack: Stack, upstream: FakeMediaUpstream) -> None:
    async with stack.client.audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input="hello", response_format="wav", extra_body={"user_id": "u-1"}
    ) as response:
        assert response.headers["content-type"] == "audio/wav"
        assert await response.read() == audio_bytes(4096)
    async with stack.client.audio.speech.with_streaming_response.create(
        model="tts",
        voice={"id": "voice_123"},
        input="hello",
        stream_format="sse",  # type: ignore[arg-type]
    ) as response:
        text = (await response.read()).decode()
    assert upstream.last("/audio/speech").json == {
        "model": "tts-up",
        "voice": {"id": "voice_123"},
        "input": "hello",
        "stream_format": "sse",
    }
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    assert b"".join(base64.b64decode(e["audio"]) for e in events[:-1]) == audio_bytes(4096)
    first, second = await stack.sink.wait_for(2)
    assert first.characters == 5 and first.end_user_id == "u-1" and first.tokens_estimated
    assert second.input_tokens == 5 and second.output_tokens == 10 and not second.tokens_estimated


async def test_speech_failures(stack: Stack, upstream: FakeMediaUpstream) -> None:
    upstream.fail_next("/audio/speech", Fault(200, truncate=True))
    with pytest.raises(httpx2.RemoteProtocolError):
        async with stack.client.audio.speech.with_streaming_response.create(
            model="tts", voice="alloy", input="x"
        ) as response:
            await response.read()
    upstream.fail_next("/audio/speech", Fault(200, truncate=True))
    async with stack.client.audio.speech.with_streaming_response.create(
        model="tts", voice="alloy", input="x", stream_format="sse"
    ) as response:
        text = (await response.read()).decode()
    assert '"error"' in text.splitlines()[-2]
    with pytest.raises(openai.BadRequestError) as wrong:
        await stack.client.audio.speech.create(model="mock-tts", voice="alloy", input="x")
    assert "no speech, image or audio API" in wrong.value.message
    with pytest.raises(openai.BadRequestError):
        await stack.client.audio.speech.create(model="tts", voice="alloy", input="x", speed="fast")  # type: ignore[arg-type]
    statuses = [e.status for e in await stack.sink.wait_for(3)]
    assert statuses[0] >= 500 and statuses[1] == 502  # a body cut off: the upstream's fault


async def test_images(stack: Stack, upstream: FakeMediaUpstream) -> None:
    upstream.fail_next("/images/generations", Fault(429, retry_after="0"))
    result = await stack.client.images.generate(model="painter", prompt="two", n=2, extra_body={"extra": 1})
    assert len(result.data) == 2 and result.usage is not None and result.usage.total_tokens == 2123
    (event,) = await stack.sink.wait_for(1)
    assert event.images == 2 and event.input_tokens == 11


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the SDK marks translations deprecated
async def test_transcriptions(stack: Stack, upstream: FakeMediaUpstream) -> None:
    digest = hashlib.sha256(AUDIO).hexdigest()[:12]
    result = await stack.client.audio.transcriptions.create(
        model="whisper",
        file=("a.mp3", AUDIO, "audio/mpeg"),
        timestamp_granularities=["segment"],
        response_format="verbose_json",
        extra_body={"chunking_strategy": "auto"},
    )
    assert digest in result.text
    assert ("chunking_strategy", "auto") in upstream.last("/audio/transcriptions").fields
    vtt = await stack.client.audio.transcriptions.with_raw_response.create(
        model="whisper", file=("a.mp3", AUDIO), response_format="vtt"
    )
    assert vtt.headers["content-type"].startswith("text/vtt")
    events = [
        e async for e in await stack.client.audio.transcriptions.create(model="whisper", file=("a", AUDIO), stream=True)
    ]
    assert events[-1].type == "transcript.text.done"
    upstream.fail_next("/audio/transcriptions", Fault(500))
    translated = await stack.client.audio.translations.create(model="whisper", file=("a.mp3", AUDIO))
    assert digest in translated.text
    seconds = [e.audio_seconds for e in await stack.sink.wait_for(4)]
    assert seconds == [pytest.approx(len(AUDIO) / 16000)] * 4


async def test_upload_limits_and_malformed_forms(stack: Stack, upstream: FakeMediaUpstream) -> None:
    too_big = bytes(300_001)
    with pytest.raises(openai.APIStatusError) as refused:
        await stack.client.audio.transcriptions.create(model="whisper", file=("big.wav", too_big))
    assert refused.value.status_code == 413
    async with httpx2.AsyncClient(base_url=stack.url, headers={"authorization": "Bearer sk-user"}) as http:
        # Chunked (no Content-Length): counted as it arrives.
        async def body() -> AsyncIterator[bytes]:
            yield b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper\r\n'
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n'
            for _ in range(10):
                yield bytes(40_000)
            yield b"\r\n--b--\r\n"

        chunked = await http.post(
            "/v1/audio/transcriptions", content=body(), headers={"content-type": "multipart/form-data; boundary=b"}
        )
        assert chunked.status_code == 413
        cut = b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper\r\n--b\r\nContent-Dispos'
        truncated = await http.post(
            "/audio/transcriptions", content=cut, headers={"content-type": "multipart/form-data; boundary=b"}
        )
        assert truncated.status_code == 400
        late = (
            b'--b\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper\r\n'
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc\r\n'
            b'--b\r\nContent-Disposition: form-data; name="language"\r\n\r\nen\r\n--b--\r\n'
        )
        after = await http.post(
            "/v1/audio/transcriptions", content=late, headers={"content-type": "multipart/form-data; boundary=b"}
        )
        # Read before the params were made (one read brought the whole form): the late field still counts.
        assert after.status_code == 200 and ("language", "en") in upstream.last("/audio/transcriptions").fields
        bad_temp = await http.post(
            "/v1/audio/transcriptions",
            files={"model": (None, "whisper"), "temperature": (None, "warm"), "file": ("a", b"x")},
        )
        assert bad_temp.status_code == 400 and bad_temp.json()["error"]["param"] == "temperature"
        no_model = await http.post("/v1/audio/transcriptions", files={"file": ("a", b"x")})
        assert no_model.status_code == 400 and no_model.json()["error"]["param"] == "model"
