"""Chat completions: resolve the model, call the upstream, convert, and record usage, streamed or not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aqueduct.v1 import chat_pb2
from aqueduct_client.openai_json import chat_chunk_from_json, chat_completion_from_json, chat_params_to_json

from core.inference.caller import Caller
from core.inference.pipeline import (
    InferenceDeps,
    Metered,
    OnServed,
    ask_for_stream_usage,
    decode_upstream,
    ensure_usage,
    upstream_body,
)
from core.inference.stream_pump import StreamPump
from core.inference.stream_usage import StreamUsage
from core.inference.token_estimate import estimate_chat_input_tokens, estimate_text_tokens, text_of
from core.providers.base import JSONObject

ENDPOINT = "chat"

Emit = Callable[[list[chat_pb2.ChatCompletionChunk]], Awaitable[None]]


class ChatInference:
    def __init__(self, deps: InferenceDeps) -> None:
        self._deps = deps

    async def create(
        self, params: chat_pb2.ChatCompletionParams, caller: Caller, *, on_served: OnServed | None = None
    ) -> chat_pb2.ChatCompletion:
        with Metered(self._deps.meter(caller, _end_user(params))) as meter:
            group = self._deps.resolve(params.model, ENDPOINT, meter)
            body = upstream_body(chat_params_to_json, params)
            rid = caller.request_id
            input_estimate = estimate_chat_input_tokens(body.get("messages"))
            async with self._deps.routed(
                group,
                ENDPOINT,
                meter,
                lambda p: p.chat_completion(body, request_id=rid),
                request_id=rid,
                on_served=on_served,
                estimated_input_tokens=input_estimate,
            ) as response:
                tokens_in, tokens_out, estimated = ensure_usage(
                    response,
                    lambda: input_estimate,
                    lambda: estimate_text_tokens(_choices_text(response, "message")),
                )
                completion = decode_upstream(chat_completion_from_json, response)
                if estimated:
                    completion.usage.estimated = True
                meter.set_tokens(tokens_in, tokens_out, estimated=estimated)
                return completion

    async def stream(
        self,
        params: chat_pb2.ChatCompletionParams,
        caller: Caller,
        *,
        on_accepted: Callable[[], Awaitable[None]],
        emit: Emit,
        on_served: OnServed | None = None,
    ) -> None:
        """Calls `on_accepted` once the upstream accepted the request (so earlier failures are ordinary
        errors), then `emit` with each batch of chunks. Usage reaches the client only if it asked."""
        with Metered(self._deps.meter(caller, _end_user(params))) as meter:
            group = self._deps.resolve(params.model, ENDPOINT, meter)
            body = upstream_body(chat_params_to_json, params)
            ask_for_stream_usage(body)
            input_estimate = estimate_chat_input_tokens(body.get("messages"))
            usage = StreamUsage(
                client_wants_usage=params.HasField("stream_options") and params.stream_options.include_usage,
                input_estimate=input_estimate,
                output_text=lambda event: _choices_text(event, "delta"),
            )
            pump = StreamPump(
                usage=usage,
                meter=meter,
                convert=lambda event: decode_upstream(chat_chunk_from_json, event),
                mark_estimated=_mark_estimated,
                emit=emit,
                max_batch=self._deps.max_chunks_per_message,
            )
            rid = caller.request_id
            async with self._deps.routed(
                group,
                ENDPOINT,
                meter,
                lambda p: p.stream_chat_completion(body, request_id=rid),
                request_id=rid,
                on_served=on_served,
                estimated_input_tokens=input_estimate,
            ) as upstream:
                await pump.run(upstream, on_accepted)


def _end_user(params: chat_pb2.ChatCompletionParams) -> str | None:
    return params.user_id if params.HasField("user_id") else None


def _mark_estimated(chunk: chat_pb2.ChatCompletionChunk) -> None:
    chunk.usage.estimated = True


def _choices_text(response: JSONObject, key: str) -> str:
    choices: Any = response.get("choices")
    if not isinstance(choices, list):
        return ""
    return "".join(text_of(c.get(key)) for c in choices if isinstance(c, dict))
