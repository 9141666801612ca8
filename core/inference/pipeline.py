"""The steps every inference request shares: route to a deployment, meter it, decode the upstream's JSON."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, TypeVar

from aqueduct_contract import MAX_MESSAGE_BYTES, SHOULD_RETRY
from aqueduct_openai import CodecError
from core.errors import InvalidRequest, UpstreamError
from core.governance.limits.admission import Reservation
from core.governance.limits.hooks import InferenceGovernance
from core.inference.caller import Caller
from core.inference.outcome import outcome_of
from core.inference.response_metadata import ResponseMetadata
from core.inference.token_estimate import TokenCounter, token_counter
from core.inference.usage_meter import UsageMeter
from core.providers.base import JSONObject, Provider, ProviderLookup
from core.providers.upstream_errors import BAD_GATEWAY, malformed
from core.routing.deployment import Deployment
from core.routing.registry import ModelGroup, ModelRegistry
from core.routing.router import Router
from core.usage.events import UsageSink

T = TypeVar("T")


class _Sized(Protocol):
    def ByteSize(self) -> int: ...


M = TypeVar("M", bound=_Sized)

# Settings.stream_max_chunks_per_message's default, for callers that build InferenceDeps by hand (tests).
DEFAULT_MAX_CHUNKS_PER_MESSAGE = 64


@dataclass(frozen=True, slots=True)
class InferenceDeps:
    registry: ModelRegistry
    providers: ProviderLookup
    usage: UsageSink
    max_chunks_per_message: int = DEFAULT_MAX_CHUNKS_PER_MESSAGE
    # Built from the registry with default router settings when not given (tests).
    router: Router | None = None
    # Model exclusions and rate-limit admission (core.governance.limits.hooks); None: neither (tests).
    governance: InferenceGovernance | None = None
    # Largest unary answer relayed (the gRPC message limit, aqueduct_contract.grpc_message_limit): a bigger
    # upstream response is a 502 here, recorded as such, instead of a transport failure after a 200 row.
    max_message_bytes: int = MAX_MESSAGE_BYTES

    def __post_init__(self) -> None:
        if self.router is None:
            object.__setattr__(self, "router", Router(self.registry))

    def meter(self, caller: Caller, end_user_id: str | None) -> UsageMeter:
        return UsageMeter(self.usage, caller, end_user_id=end_user_id)

    def resolve(self, model: str, endpoint: str, meter: UsageMeter) -> ModelGroup:
        """The model group for a name or alias, checked against `endpoint`; labels the meter."""
        if not model:
            raise InvalidRequest("You must provide a model parameter.", field="model")
        group = self.registry.resolve(model)
        if self.governance is not None:
            self.governance.check_model(meter.caller.principal, group.name, model)
        group.require_endpoint(endpoint)
        meter.model = group.name
        return group

    @asynccontextmanager
    async def routed(
        self,
        group: ModelGroup,
        endpoint: str,
        meter: UsageMeter,
        call: Callable[[Provider], Awaitable[T]],
        *,
        request_id: str,
        response_metadata: ResponseMetadata | None = None,
        estimated_input_tokens: int = 0,
        max_output_tokens: int | None = 0,
    ) -> AsyncIterator[T]:
        """Lets the router call `group`'s deployments (with retries and fallbacks) until `call` succeeds,
        and yields its value; the block's own failures are never retried (see core/routing/router.py). The
        meter names the deployment tried last (the one that answered, or the last that failed);
        `response_metadata` gets the rate-limit headers and the deployment that answered. `max_output_tokens`
        is reserved in output-token limits (None: the configured default; 0 for endpoints without output)."""
        router = self.router
        assert router is not None  # set in __post_init__

        def on_attempt(deployment: Deployment) -> None:
            meter.model = deployment.model_name
            meter.deployment = deployment.upstream_model
            meter.mark_in_flight(estimated_input_tokens)

        async with (
            self._admitted(group, meter, estimated_input_tokens, max_output_tokens) as reservation,
            router.route(
                group,
                endpoint,
                lambda deployment: call(self.providers.get(deployment)),
                request_id=request_id,
                on_attempt=on_attempt,
                tokens_used=lambda: meter.input_tokens + meter.output_tokens,
                excluded_models=self._excluded_models(meter),
            ) as routed,
        ):
            if response_metadata is not None:
                if reservation is not None:
                    response_metadata.update(reservation.headers)
                response_metadata.served_by(routed.deployment.model_name, routed.deployment.id)
            yield routed.value

    def _excluded_models(self, meter: UsageMeter) -> frozenset[str]:
        if self.governance is None:
            return frozenset()
        return self.governance.excluded_models(meter.caller.principal)

    def _admitted(
        self, group: ModelGroup, meter: UsageMeter, estimated_input_tokens: int, max_output_tokens: int | None
    ) -> AbstractAsyncContextManager[Reservation | None]:
        """Rate-limit admission around the upstream attempts: reserved before the first, settled with the
        meter's tokens after the block (a failed upstream call still counts; a 429 here reserves nothing)."""
        if self.governance is None:
            return nullcontext()
        return self.governance.admitted(
            meter.caller.principal,
            group.name,
            estimated_input_tokens,
            max_output_tokens,
            lambda: (meter.input_tokens, meter.output_tokens),
            share=meter.caller.limit_share,
        )


class Metered:
    """`with Metered(meter):` records the request's one usage event however the block ends: 200, the
    error's status, or 499 when the task is cancelled (the cancellation still propagates)."""

    def __init__(self, meter: UsageMeter) -> None:
        self._meter = meter

    def __enter__(self) -> UsageMeter:
        return self._meter

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self._meter.finish(200)
        else:
            status, message = outcome_of(exc)
            self._meter.finish(status, message)


def upstream_body(encode: Callable[[T], JSONObject], params: T) -> JSONObject:
    """Params -> upstream JSON. The Aqueduct end-user id is usage attribution only and never leaves."""
    try:
        body = encode(params)
    except CodecError as exc:
        raise InvalidRequest(exc.message, field=exc.field) from None
    body.pop("user_id", None)
    return body


def ask_for_stream_usage(body: JSONObject) -> None:
    """Streams always ask the upstream for usage so tokens can be recorded; the client's own
    stream_options keys are kept."""
    body["stream"] = True
    options = body.get("stream_options")
    body["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}


def decode_upstream(decode: Callable[[JSONObject], M], data: JSONObject, max_bytes: int) -> M:
    """Upstream JSON -> proto; JSON that does not fit OpenAI's shape, or a message over `max_bytes` (too big to
    relay to the caller), is the upstream's fault (502)."""
    try:
        message = decode(data)
    except CodecError as exc:
        where = f" ({exc.field})" if exc.field else ""
        raise malformed(f"response{where}") from None
    if message.ByteSize() > max_bytes:
        error = UpstreamError(
            f"The upstream response is larger than the {max_bytes}-byte limit and cannot be relayed.",
            upstream_status=BAD_GATEWAY,
        )
        error.metadata[SHOULD_RETRY] = "false"
        raise error
    return message


async def ensure_usage(
    response: JSONObject,
    model: str | None,
    estimate_input: Callable[[TokenCounter], int],
    estimate_output: Callable[[TokenCounter], int],
    *,
    with_output: bool = True,
) -> tuple[int, int, bool]:
    """(input, output, estimated). Writes an estimated usage object into `response` when the upstream sent
    none, so the client always gets usage; the estimate counts with `model`'s tokenizer
    (core.inference.token_estimate), in a worker thread: tiktoken on a long text takes milliseconds, and
    building an encoding the first time about a second."""
    usage = response.get("usage")
    if isinstance(usage, dict):
        return _count(usage, "prompt_tokens"), _count(usage, "completion_tokens"), False

    def estimate() -> tuple[int, int]:
        count = token_counter(model)
        return estimate_input(count), estimate_output(count) if with_output else 0

    prompt, completion = await asyncio.to_thread(estimate)
    estimated: JSONObject = {"prompt_tokens": prompt, "total_tokens": prompt + completion}
    if with_output:
        estimated["completion_tokens"] = completion
    response["usage"] = estimated
    return prompt, completion, True


def _count(usage: JSONObject, key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
