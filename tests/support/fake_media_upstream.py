"""A loopback upstream that behaves like OpenAI's speech, image and transcription endpoints, and checks the wire
format it is sent (credentials, JSON or multipart, the upstream model name, no `user_id`).

aiohttp's web server in a background thread. Faults are scripted per path (`fail_next`); speech can trickle its
audio behind a gate the test opens, to prove the gateway relays bytes before the upstream has finished. Every
request is recorded once its body was read whole (`requests`); `started` counts requests whose head arrived."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "sk-media-upstream-0123456789"
AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


@dataclass
class Fault:
    status: int = 500
    retry_after: str | None = None
    truncate: bool = False  # answer 200, then break the body off part-way


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    file_name: str | None = None
    file_type: str | None = None
    file_size: int = 0
    file_sha256: str = ""


@functools.lru_cache(maxsize=4)
def audio_bytes(size: int) -> bytes:
    """Deterministic "audio" the tests can compare byte for byte (cached: the benchmark streams MBs of it)."""
    pattern = bytes((i * 7 + 3) % 256 for i in range(256))  # period 256, as 7 is odd
    return (pattern * (size // 256 + 1))[:size]


class FakeMediaUpstream:
    def __init__(self, audio_size: int = 64 * 1024, audio_chunks: int = 8) -> None:
        self.audio_size = audio_size
        self.audio_chunks = audio_chunks
        self.requests: list[Recorded] = []
        self.started: list[str] = []
        self.faults: dict[str, list[Fault]] = {}
        self.image_bytes = 1024
        # Speech trickle: after the first chunk the fake waits for `gate` (set by the test) before the rest.
        self.gate: threading.Event | None = None
        self.speech_finished = threading.Event()
        self.speech_closed_early = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- control ---------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fail_next(self, path: str, *faults: Fault) -> None:
        self.faults.setdefault(path, []).extend(faults)

    def reset(self) -> None:
        self.requests.clear()
        self.started.clear()
        self.faults.clear()
        self.gate = None
        self.speech_finished.clear()
        self.speech_closed_early.clear()
        self.image_bytes = 1024

    def last(self, path: str) -> Recorded:
        return [r for r in self.requests if r.path.endswith(path)][-1]

    # --- lifecycle -------------------------------------------------------------------------------------------
    def __enter__(self) -> FakeMediaUpstream:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True, name="fake-media-upstream")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake media upstream did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        loop = self._loop
        if loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for prefix in ("/v1", ""):
            app.router.add_post(prefix + "/audio/speech", self._speech)
            app.router.add_post(prefix + "/images/generations", self._images)
            app.router.add_post(prefix + "/audio/transcriptions", self._transcribe)
            app.router.add_post(prefix + "/audio/translations", self._transcribe)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        loop.run_forever()
        loop.close()

    # --- handlers ----------------------------------------------------------------------------------------------
    def _check_auth(self, request: web.Request) -> None:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            raise web.HTTPUnauthorized(text=json.dumps({"error": {"message": "bad key", "type": "auth"}}))

    def _fault(self, request: web.Request) -> Fault | None:
        key = request.path.removeprefix("/v1")
        queue = self.faults.get(key)
        return queue.pop(0) if queue else None

    @staticmethod
    def _error(fault: Fault) -> web.Response:
        headers = {"retry-after": fault.retry_after} if fault.retry_after else {}
        body = {"error": {"message": f"fake upstream error {fault.status}", "type": "server_error", "code": None}}
        return web.json_response(body, status=fault.status, headers=headers)

    async def _json_body(self, request: web.Request) -> dict[str, Any]:
        self.started.append(request.path)
        self._check_auth(request)
        if request.content_type != "application/json":
            raise web.HTTPBadRequest(text="expected JSON")
        body = await request.json()
        if not isinstance(body, dict) or "user_id" in body or not str(body.get("model", "")).endswith("-up"):
            raise web.HTTPBadRequest(text=f"bad body {body!r}")
        self.requests.append(Recorded(request.path, dict(request.headers), json=body))
        return body

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        body = await self._json_body(request)
        if not body.get("input") or not body.get("voice"):
            raise web.HTTPBadRequest(text="input and voice are required")
        fault = self._fault(request)
        if fault is not None and not fault.truncate:
            return self._error(fault)
        audio = audio_bytes(self.audio_size)
        if body.get("stream_format") == "sse":
            return await self._speech_events(request, audio, body, fault)
        response = web.StreamResponse(headers={"content-type": AUDIO_TYPES[body.get("response_format", "mp3")]})
        if fault is not None:
            response.content_length = len(audio)
        await response.prepare(request)
        step = max(1, len(audio) // self.audio_chunks)
        try:
            for i, start in enumerate(range(0, len(audio), step)):
                await response.write(audio[start : start + step])
                if i == 0 and fault is not None:
                    request.transport.close()  # type: ignore[union-attr]
                    return response
                if i == 0 and self.gate is not None:
                    await asyncio.to_thread(self.gate.wait, 30)
                else:
                    await asyncio.sleep(0.001)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.speech_closed_early.set()
            raise
        self.speech_finished.set()
        return response

    async def _speech_events(
        self, request: web.Request, audio: bytes, body: dict[str, Any], fault: Fault | None
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        step = max(1, len(audio) // self.audio_chunks)
        for start in range(0, len(audio), step):
            delta = {"type": "speech.audio.delta", "audio": base64.b64encode(audio[start : start + step]).decode()}
            await response.write(b"data: " + json.dumps(delta).encode() + b"\n\n")
            if fault is not None:
                await response.write_eof()  # ends cleanly but without the final event
                return response
        tokens = len(body["input"])
        usage = {"input_tokens": tokens, "output_tokens": 2 * tokens, "total_tokens": 3 * tokens}
        await response.write(b"data: " + json.dumps({"type": "speech.audio.done", "usage": usage}).encode() + b"\n\n")
        await response.write_eof()
        return response

    async def _images(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        fault = self._fault(request)
        if fault is not None:
            return self._error(fault)
        n = body.get("n", 1)
        image = base64.b64encode(bytes(self.image_bytes)).decode()
        data = []
        for i in range(n):
            if body.get("response_format") == "url":
                data.append({"url": f"https://images.example/{i}.png", "revised_prompt": body["prompt"]})
            else:
                data.append({"b64_json": image})
        out: dict[str, Any] = {"created": 1700000000, "data": data}
        if str(body["model"]).startswith("gpt-image"):
            out["usage"] = {
                "input_tokens": 11,
                "output_tokens": 1056 * n,
                "total_tokens": 11 + 1056 * n,
                "input_tokens_details": {"text_tokens": 11, "image_tokens": 0},
            }
            out["output_format"] = body.get("output_format", "png")
        return web.json_response(out)

    async def _transcribe(self, request: web.Request) -> web.StreamResponse:
        self.started.append(request.path)
        self._check_auth(request)
        if request.content_type != "multipart/form-data":
            raise web.HTTPBadRequest(text="expected multipart/form-data")
        record = Recorded(request.path, dict(request.headers))
        digest = hashlib.sha256()
        reader = await request.multipart()
        async for part in reader:
            if part.name == "file":
                record.file_name = part.filename
                record.file_type = part.headers.get("content-type")
                while chunk := await part.read_chunk(256 * 1024):  # type: ignore[union-attr]
                    digest.update(chunk)
                    record.file_size += len(chunk)
            else:
                record.fields.append((str(part.name), await part.text()))  # type: ignore[union-attr]
        record.file_sha256 = digest.hexdigest()
        fields = dict(record.fields)
        if record.file_name is None or not fields.get("model", "").endswith("-up") or "user_id" in fields:
            raise web.HTTPBadRequest(text=f"bad form {record.fields!r}")
        self.requests.append(record)
        fault = self._fault(request)
        if fault is not None:
            return self._error(fault)
        text = f"heard {record.file_size} bytes sha256 {record.file_sha256[:12]}"
        seconds = record.file_size / 16000
        tokens = fields["model"].startswith("gpt-4o")
        usage: dict[str, Any] = (
            {"type": "tokens", "input_tokens": 40, "output_tokens": 9, "total_tokens": 49}
            if tokens
            else {"type": "duration", "seconds": round(seconds, 3)}
        )
        if fields.get("stream") == "true":
            response = web.StreamResponse(headers={"content-type": "text/event-stream"})
            await response.prepare(request)
            for word in text.split(" "):
                event = {"type": "transcript.text.delta", "delta": word + " "}
                await response.write(b"data: " + json.dumps(event).encode() + b"\n\n")
            done = {"type": "transcript.text.done", "text": text, "usage": usage}
            await response.write(b"data: " + json.dumps(done).encode() + b"\n\n")
            await response.write_eof()
            return response
        fmt = fields.get("response_format", "json")
        end = _timestamp(seconds, ",")
        if fmt == "text":
            return web.Response(text=text + "\n", content_type="text/plain")
        if fmt == "srt":
            return web.Response(text=f"1\n00:00:00,000 --> {end}\n{text}\n\n", content_type="text/plain")
        if fmt == "vtt":
            body = f"WEBVTT\n\n00:00:00.000 --> {_timestamp(seconds, '.')}\n{text}\n\n"
            return web.Response(text=body, content_type="text/vtt")
        if fmt == "verbose_json":
            verbose = {
                "task": "translate" if request.path.endswith("translations") else "transcribe",
                "language": fields.get("language", "english"),
                "duration": round(seconds, 3),
                "text": text,
                "segments": [{"id": 0, "start": 0.0, "end": round(seconds, 3), "text": text}],
            }
            return web.json_response(verbose)
        return web.json_response({"text": text, "usage": usage})


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    h, rest = divmod(millis, 3600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"
