"""Incremental Server-Sent Events decoder (the WHATWG event-stream rules), fed raw bytes as they arrive."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Guards memory against a broken upstream that never ends a line or an event; far above any real chunk.
MAX_EVENT_CHARS = 16 * 1024 * 1024

# Only CR, LF and CRLF end a line: str.splitlines() would also split on U+2028 etc., which JSON strings may
# contain raw.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class SSEError(ValueError):
    """The byte stream is not a valid event stream (bad UTF-8, or an event over the size bound)."""


@dataclass(frozen=True, slots=True)
class SSEEvent:
    data: str
    event: str = ""  # the `event:` field; empty means "message"


class SSEDecoder:
    def __init__(self, max_event_chars: int = MAX_EVENT_CHARS) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._max = max_event_chars
        self._partial = ""  # text after the last line break
        self._skip_lf = False  # the previous chunk ended with CR, so a leading LF belongs to it
        self._data: list[str] = []
        self._data_chars = 0
        self._event = ""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        try:
            text = self._utf8.decode(chunk)
        except UnicodeDecodeError as exc:
            raise SSEError("upstream stream is not valid UTF-8") from exc
        return self._feed_text(text)

    def close(self) -> list[SSEEvent]:
        """End of body: the last event counts even without its blank line (some servers omit it)."""
        try:
            text = self._utf8.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise SSEError("upstream stream ends inside a UTF-8 sequence") from exc
        events = self._feed_text(text)
        if self._partial:
            self._line(self._partial)
            self._partial = ""
        if self._data:
            events.append(self._dispatch())
        return events

    def _feed_text(self, text: str) -> list[SSEEvent]:
        if not text:
            return []
        if self._skip_lf and text.startswith("\n"):
            text = text[1:]
        self._skip_lf = text.endswith("\r")
        text = self._partial + text
        # str.split is several times faster than the regex; most servers end lines with LF only.
        lines = text.split("\n") if "\r" not in text else _LINE_BREAK.split(text)
        self._partial = lines.pop()
        if len(self._partial) > self._max:
            raise SSEError("upstream stream line exceeds the size limit")
        events: list[SSEEvent] = []
        for line in lines:
            if line:
                self._line(line)
            elif self._data:
                events.append(self._dispatch())
            else:
                self._event = ""
        return events

    def _line(self, line: str) -> None:
        if line.startswith(":"):
            return  # comment (keepalive)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data_chars += len(value) + 1
            if self._data_chars > self._max:
                raise SSEError("upstream stream event exceeds the size limit")
            self._data.append(value)
        elif name == "event":
            self._event = value
        # `id` and `retry` only matter to reconnecting browsers; unknown fields are ignored per the spec.

    def _dispatch(self) -> SSEEvent:
        event = SSEEvent(data="\n".join(self._data), event=self._event)
        self._data = []
        self._data_chars = 0
        self._event = ""
        return event
