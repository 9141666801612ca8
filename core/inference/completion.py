"""Legacy text completions: the same flow as chat, with a prompt instead of messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aqueduct.v1 import completion_pb2
from aqueduct_client.openai_json import completion_from_json, completion_params_to_json

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
from core.inference.token_estimate import estimate_prompt_tokens, estimate_text_tokens
from core.providers.base import JSONObject

ENDPOINT = "completion"

Emit = Callable[[list[completion_pb2.Completion]], Awaitable[None]]


class CompletionInference:
    def __init__(self, deps: InferenceDeps) -> None:
        self._deps = deps

    async def create(
        self, params: completion_pb2.CompletionParams, caller: Caller, *, on_served: OnServed | None = None
    ) -> completion_pb2.Completion:
        with Metered(self._deps.meter(caller, _end_user(params))) as meter:
            group = self._deps.resolve(params.model, ENDPOINT, meter)
            body = upstream_body(completion_params_to_json, params)
            rid = caller.request_id
            input_estimate = estimate_prompt_tokens(body.get("prompt"))
            async with self._deps.routed(
                group,
                ENDPOINT,
                meter,
                lambda p: p.completion(body, request_id=rid),
                request_id=rid,
                on_served=on_served,
                estimated_input_tokens=input_estimate,
            ) as response:
                tokens_in, tokens_out, estimated = ensure_usage(
                    response,
                    lambda: input_estimate,
                    lambda: estimate_text_tokens(_choices_text(response)),
                )
                completion = decode_upstream(completion_from_json, response)
                if estimated:
                    completion.usage.estimated = True
                meter.set_tokens(tokens_in, tokens_out, estimated=estimated)
                return completion

    async def stream(
        self,
        params: completion_pb2.CompletionParams,
        caller: Caller,
        *,
        on_accepted: Callable[[], Awaitable[None]],
        emit: Emit,
        on_served: OnServed | None = None,
    ) -> None:
        """Same contract as ChatInference.stream."""
        with Metered(self._deps.meter(caller, _end_user(params))) as meter:
            group = self._deps.resolve(params.model, ENDPOINT, meter)
            body = upstream_body(completion_params_to_json, params)
            ask_for_stream_usage(body)
            usage = StreamUsage(
                client_wants_usage=params.HasField("stream_options") and params.stream_options.include_usage,
                input_estimate=estimate_prompt_tokens(body.get("prompt")),
                output_text=_choices_text,
            )
            pump = StreamPump(
                usage=usage,
                meter=meter,
                convert=lambda event: decode_upstream(completion_from_json, event),
                mark_estimated=_mark_estimated,
                emit=emit,
                max_batch=self._deps.max_chunks_per_message,
            )
            rid = caller.request_id
            async with self._deps.routed(
                group,
                ENDPOINT,
                meter,
                lambda p: p.stream_completion(body, request_id=rid),
                request_id=rid,
                on_served=on_served,
                estimated_input_tokens=estimate_prompt_tokens(body.get("prompt")),
            ) as upstream:
                await pump.run(upstream, on_accepted)


def _end_user(params: completion_pb2.CompletionParams) -> str | None:
    return params.user_id if params.HasField("user_id") else None


def _mark_estimated(chunk: completion_pb2.Completion) -> None:
    chunk.usage.estimated = True


def _choices_text(response: JSONObject) -> str:
    choices: Any = response.get("choices")
    if not isinstance(choices, list):
        return ""
    return "".join(c["text"] for c in choices if isinstance(c, dict) and isinstance(c.get("text"), str))
