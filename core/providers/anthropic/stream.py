"""Anthropic's streaming events as OpenAI chat.completion.chunk objects.

message_start gives the id, model and input usage (a first chunk with the assistant role); content_block_start
of a tool_use block opens a tool call (its id and name), content_block_delta carries text (`text_delta`), tool
arguments (`input_json_delta`) or thinking (`thinking_delta`, as reasoning_content); message_delta the stop
reason and the output usage (a chunk with finish_reason); message_stop ends the stream with a usage chunk
(`choices: []`, as OpenAI sends with stream_options.include_usage). `ping`, content_block_stop, signatures and
event types added later are skipped; an `error` event is an upstream error. A body that ends before
message_stop is a truncated stream, as one without `[DONE]` is for OpenAI upstreams."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from core.errors import AqueductError
from core.providers.anthropic.errors import error_from_stream_event
from core.providers.anthropic.response import finish_reason, usage_of
from core.providers.base import JSONObject
from core.providers.event_stream import HTTPEventStream
from core.providers.scrubbing import Scrubber
from core.providers.sse import SSEEvent
from core.providers.upstream_errors import json_object


class ChunkTranslator:
    """State of one stream: its header fields, the tool calls opened so far, the usage seen."""

    def __init__(self) -> None:
        self._header: JSONObject = {"id": "", "object": "chat.completion.chunk", "created": int(time.time())}
        self._header["model"] = ""
        self._tool_index: dict[int, int] = {}  # Anthropic block index -> OpenAI tool_calls index
        self._usage: JSONObject = {}

    def feed(self, event: JSONObject) -> tuple[list[JSONObject], bool]:
        """(the chunks for one event, whether the stream is complete)."""
        kind = event.get("type")
        if kind == "message_start":
            message = _dict(event.get("message"))
            self._header["id"] = message.get("id", "")
            self._header["model"] = message.get("model", "")
            self._usage.update(_dict(message.get("usage")))
            return [self._chunk({"role": "assistant", "content": ""})], False
        if kind == "content_block_start":
            block = _dict(event.get("content_block"))
            if block.get("type") == "tool_use":
                index = self._tool_index.setdefault(_int(event.get("index")), len(self._tool_index))
                call = {"index": index, "id": block.get("id", ""), "type": "function"}
                call["function"] = {"name": block.get("name", ""), "arguments": ""}
                return [self._chunk({"tool_calls": [call]})], False
            if block.get("type") == "text" and block.get("text"):
                return [self._chunk({"content": block["text"]})], False
            return [], False
        if kind == "content_block_delta":
            return self._delta(_int(event.get("index")), _dict(event.get("delta"))), False
        if kind == "message_delta":
            self._usage.update({k: v for k, v in _dict(event.get("usage")).items() if v is not None})
            reason = finish_reason(_dict(event.get("delta")).get("stop_reason"))
            if reason is None:
                return [], False
            return [{**self._header, "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}], False
        if kind == "message_stop":
            return [{**self._header, "choices": [], "usage": usage_of(self._usage)}], True
        return [], False  # ping, content_block_stop, and event types added later

    def _delta(self, index: int, delta: JSONObject) -> list[JSONObject]:
        kind = delta.get("type")
        if kind == "text_delta":
            return [self._chunk({"content": delta.get("text", "")})]
        if kind == "input_json_delta" and index in self._tool_index:
            call = {"index": self._tool_index[index], "function": {"arguments": delta.get("partial_json", "")}}
            return [self._chunk({"tool_calls": [call]})]
        if kind == "thinking_delta":
            return [self._chunk({"reasoning_content": delta.get("thinking", "")})]
        return []

    def _chunk(self, delta: JSONObject) -> JSONObject:
        return {**self._header, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


class AnthropicEventStream(HTTPEventStream):
    """HTTPEventStream's reading, pooling and error handling, with Anthropic's events translated."""

    END_MARKER = "message_stop"

    def __init__(self, response: aiohttp.ClientResponse, model: str, where: tuple[str, str], scrub: Scrubber) -> None:
        super().__init__(response, model, where, scrub)
        self._translator = ChunkTranslator()

    def _parse_all(self, events: list[SSEEvent]) -> tuple[list[JSONObject], bool, AqueductError | None]:
        batch: list[JSONObject] = []
        for event in events:
            try:
                data = json_object(event.data, "stream event")
                if event.event == "error" or data.get("type") == "error":
                    raise error_from_stream_event(data, self._scrub, self._model)
                chunks, done = self._translator.feed(data)
            except AqueductError as exc:
                return batch, False, exc
            batch.extend(chunks)
            if done:
                return batch, True, None
        return batch, False, None


def _dict(value: Any) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
