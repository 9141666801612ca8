"""What media answers tell about usage, read without re-modelling them.

Speech and transcription streams (`stream_format: sse`, `stream: true`) are relayed byte for byte; a watcher
decodes the same bytes on the side to find the final event (`speech.audio.done`, `transcript.text.done`), which
carries the usage and proves the stream complete. Transcript documents report tokens (gpt-4o-transcribe:
`usage.type == "tokens"`), a duration (whisper: `usage.type == "duration"`, or verbose_json's `duration`), or
nothing (text); srt and vtt documents give the audio's length by their last cue's end time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from core.providers.sse import SSEDecoder, SSEError

# Final events of OpenAI's speech and transcription event streams.
DONE_EVENTS = frozenset({"speech.audio.done", "transcript.text.done"})
# "00:01:02,500 --> 00:01:05,250" (srt) or "00:01:02.500 --> 00:01:05.250" / "01:02.500 --> ..." (vtt)
_CUE_END = re.compile(rb"-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{1,3})")


@dataclass(slots=True)
class MediaUsage:
    """Tokens and audio seconds the upstream reported (None: not reported)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    seconds: float | None = None

    @property
    def has_tokens(self) -> bool:
        return self.input_tokens is not None or self.output_tokens is not None


def usage_of(obj: Any) -> MediaUsage:
    """The usage in a response object or final event: `usage` with tokens or seconds, or a `duration`."""
    found = MediaUsage()
    if not isinstance(obj, dict):
        return found
    usage = obj.get("usage")
    if isinstance(usage, dict):
        found.input_tokens = _count(usage.get("input_tokens"))
        found.output_tokens = _count(usage.get("output_tokens"))
        found.seconds = _seconds(usage.get("seconds"))
    if found.seconds is None:
        found.seconds = _seconds(obj.get("duration"))
    return found


def document_usage(content: bytes, content_type: str) -> MediaUsage:
    """Usage of a transcript document: from its JSON, or the audio length from an srt/vtt's last cue."""
    if content_type.startswith("application/json"):
        try:
            return usage_of(orjson.loads(content))
        except orjson.JSONDecodeError:
            return MediaUsage()
    cues = _CUE_END.findall(content)
    if not cues:
        return MediaUsage()
    hours, minutes, seconds, fraction = cues[-1]
    total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(fraction.ljust(3, b"0")) / 1000
    return MediaUsage(seconds=total)


class EventWatcher:
    """Decodes a relayed SSE body on the side: `done` once the final event arrived, `usage` from it. A body
    that is not a valid event stream is the client's to judge (it is relayed as is); the watcher just stops."""

    def __init__(self) -> None:
        self._decoder: SSEDecoder | None = SSEDecoder()
        self.done = False
        self.usage = MediaUsage()

    def feed(self, chunk: bytes) -> None:
        decoder = self._decoder
        if decoder is None:
            return
        try:
            events = decoder.feed(chunk)
        except SSEError:
            self._decoder = None
            return
        for event in events:
            # Only a final event is parsed: base64 audio has no '.', so the deltas are skipped unread.
            if self.done or '.done"' not in event.data:
                continue
            try:
                obj = orjson.loads(event.data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict) and obj.get("type") in DONE_EVENTS:
                self.done = True
                self.usage = usage_of(obj)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _seconds(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None
