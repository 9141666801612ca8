"""The flow chat and legacy completions share: resolve the model, call the upstream (or open its stream),
convert, and record usage. What differs between the two is data, a `TextEndpoint`: the codec functions, the
input estimate, where the output text lives and which provider call to make."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from core.inference.caller import Caller
from core.inference.pipeline import (
    InferenceDeps,
    Metered,
    ask_for_stream_usage,
    decode_upstream,
    ensure_usage,
    upstream_body,
)
from core.inference.response_metadata import ResponseMetadata
from core.inference.stream_pump import StreamPump
from core.inference.stream_usage import StreamUsage
from core.inference.token_estimate import TokenCounter, estimate_text_tokens
from core.providers.base import JSONObject, Provider, UpstreamStream


class _WithUsage(Protocol):
    @property
    def usage(self) -> Any: ...

    def ByteSize(self) -> int: ...


class Params(Protocol):
    """What the flow reads of ChatCompletionParams / CompletionParams."""

    @property
    def model(self) -> str: ...

    @property
    def user_id(self) -> str: ...

    @property
    def stream_options(self) -> Any: ...

    def HasField(self, field_name: Any) -> bool: ...


ParamsT = TypeVar("ParamsT", bound=Params)
ResultT = TypeVar("ResultT", bound=_WithUsage)
ChunkT = TypeVar("ChunkT", bound=_WithUsage)


@dataclass(frozen=True, slots=True)
class TextEndpoint(Generic[ParamsT, ResultT, ChunkT]):
    name: str  # the endpoint as routing, limits and exclusions know it ("chat", "completion")
    params_to_json: Callable[[ParamsT], JSONObject]
    result_from_json: Callable[[JSONObject], ResultT]
    chunk_from_json: Callable[[JSONObject], ChunkT]
    # (the upstream body, a token counter) -> estimated input tokens
    estimate_input: Callable[[JSONObject, TokenCounter], int]
    result_text: Callable[[JSONObject], str]  # a whole response -> its output text
    chunk_text: Callable[[JSONObject], str]  # one stream event -> its output text
    call: Callable[[Provider, JSONObject, str], Awaitable[JSONObject]]  # (provider, body, request id)
    open_stream: Callable[[Provider, JSONObject, str], Awaitable[UpstreamStream]]


class TextGeneration(Generic[ParamsT, ResultT, ChunkT]):
    def __init__(self, deps: InferenceDeps, endpoint: TextEndpoint[ParamsT, ResultT, ChunkT]) -> None:
        self._deps = deps
        self._endpoint = endpoint

    async def create(
        self, params: ParamsT, caller: Caller, *, response_metadata: ResponseMetadata | None = None
    ) -> ResultT:
        ep = self._endpoint
        with Metered(self._deps.meter(caller, _end_user(params))) as meter:
            group = self._deps.resolve(params.model, ep.name, meter)
            body = upstream_body(ep.params_to_json, params)
            rid = caller.request_id
            # The reservation counts chars/4; a missing usage is counted with the tokenizer (token_estimate).
            input_estimate = ep.estimate_input(body, estimate_text_tokens)
            async with self._deps.routed(
                group,
                ep.name,
                meter,
                lambda p: ep.call(p, body, rid),
                request_id=rid,
                response_metadata=response_metadata,
                estimated_input_tokens=input_estimate,
                max_output_tokens=max_output_tokens(body),
            ) as response:
                tokens_in, tokens_out, estimated = await ensure_usage(
                    response,
                    meter.deployment,
                    lambda count: ep.estimate_input(body, count),
                    lambda count: count(ep.result_text(response)),
                )
                result = decode_upstream(ep.result_from_json, response, self._deps.max_message_bytes)
                if estimated:
                    result.usage.estimated = True
                meter.set_tokens(tokens_in, tokens_out, estimated=estimated)
                return result

    async def stream(
        self,
        params: ParamsT,
        caller: Caller,
        *,
        on_accepted: Callable[[], Awaitable[None]],
        emit: Callable[[list[ChunkT]], Awaitable[None]],
        response_metadata: ResponseMetadata | None = None,
    ) -> None:
        """Calls `on_accepted` once the upstream accepted the request (so earlier failures are ordinary
        errors), then `emit` with each batch of chunks. Usage reaches the client only if it asked."""
        ep = self._endpoint
        with Metered(self._deps.meter(caller, _end_user(params))) as meter:
            group = self._deps.resolve(params.model, ep.name, meter)
            body = upstream_body(ep.params_to_json, params)
            ask_for_stream_usage(body)
            input_estimate = ep.estimate_input(body, estimate_text_tokens)
            usage = StreamUsage(
                client_wants_usage=params.HasField("stream_options") and params.stream_options.include_usage,
                input_estimate=input_estimate,
                output_text=ep.chunk_text,
                count_input=lambda count: ep.estimate_input(body, count),
                model=lambda: meter.deployment,
            )
            pump = StreamPump(
                usage=usage,
                meter=meter,
                convert=lambda event: decode_upstream(ep.chunk_from_json, event, self._deps.max_message_bytes),
                mark_estimated=_mark_estimated,
                emit=emit,
                max_batch=self._deps.max_chunks_per_message,
            )
            rid = caller.request_id
            async with self._deps.routed(
                group,
                ep.name,
                meter,
                lambda p: ep.open_stream(p, body, rid),
                request_id=rid,
                response_metadata=response_metadata,
                estimated_input_tokens=input_estimate,
                max_output_tokens=max_output_tokens(body),
            ) as upstream:
                await pump.run(upstream, on_accepted)


def max_output_tokens(body: JSONObject) -> int | None:
    """The output bound the request sets (chat: max_completion_tokens or the older max_tokens; completions:
    max_tokens), times its `n` choices, which its rate-limit reservation counts; None when it sets none."""
    choices = body.get("n")
    per_choice = choices if isinstance(choices, int) and not isinstance(choices, bool) and choices > 1 else 1
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value * per_choice
    return None


def _end_user(params: Params) -> str | None:
    return params.user_id if params.HasField("user_id") else None


def _mark_estimated(chunk: _WithUsage) -> None:
    chunk.usage.estimated = True
