"""A fake core for the façade's integration tests: a grpc.aio server on 127.0.0.1 port 0 with canned answers.

The model name scripts the behaviour: "error:<name>" fails with the domain error ERRORS[name] (rendered by
core's own errors interceptor helpers, so the façade is tested against exactly what core sends), "crash" raises
a bare exception (gRPC UNKNOWN with the exception text), streaming models "error-early:<name>", "error-mid",
"slow" (waits to be cancelled) and "pause" (silent for a while before its first chunk)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from aqueduct.v1 import (
    chat_pb2,
    chat_service_pb2,
    chat_service_pb2_grpc,
    common_pb2,
    completion_pb2,
    completion_service_pb2,
    completion_service_pb2_grpc,
    embedding_pb2,
    embedding_service_pb2,
    embedding_service_pb2_grpc,
    error_reason_pb2,
    model_pb2,
    model_service_pb2,
    model_service_pb2_grpc,
)
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from core import errors

Context = grpc.aio.ServicerContext[Any, Any]


class Unimplemented(errors.AqueductError):
    """Core raises no UNIMPLEMENTED of its own; a façade newer than its core still meets one (an RPC that core
    lacks), and the table must give it its 501."""

    code = grpc.StatusCode.UNIMPLEMENTED
    reason = error_reason_pb2.ERROR_REASON_UNSUPPORTED


ERRORS: dict[str, errors.AqueductError] = {
    "invalid": errors.InvalidRequest("messages[0].content is too long", field="messages[0].content"),
    "precondition": errors.FailedPrecondition("the batch is not running"),
    "unauthenticated": errors.InvalidToken("invalid API key"),
    "expired": errors.TokenExpired("the key expired"),
    "forbidden": errors.PermissionDenied("this key may not use that model"),
    "model_not_found": errors.ModelNotFound("The model 'nope' does not exist", field="model"),
    "exists": errors.AlreadyExists("that user already exists"),
    "rate": errors.RateLimited(
        "rate limit reached for requests",
        metadata={"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "0"},
        retry_after=1.5,
    ),
    "quota": errors.QuotaExceeded("budget exhausted"),
    "unsupported": Unimplemented("embeddings are not supported by this model"),
    "unavailable": errors.UpstreamUnavailable("every deployment failed"),
    "timeout": errors.UpstreamTimeout("the upstream did not answer in time"),
    "upstream_422": errors.UpstreamError("Upstream says: bad schema", upstream_status=422, upstream_code="x1"),
    "upstream_502": errors.UpstreamError("Bad gateway from upstream", upstream_status=502),
}

MODELS = [
    model_pb2.Model(id="gpt-test", created=1700000000, owned_by="aqueduct", mode="chat"),
    model_pb2.Model(id="org/model-x", created=1700000001, owned_by="openai", mode="embedding"),
]


def to_status(error: errors.AqueductError) -> status_pb2.Status:
    """The rich status core's errors interceptor sends for a domain error (same wire contract, built here so
    this fake does not depend on the interceptor module)."""
    details = []
    reason = error_reason_pb2.ErrorReason.Name(error.reason).removeprefix("ERROR_REASON_")
    messages: list[Any] = [error_details_pb2.ErrorInfo(reason=reason, domain="aqueduct", metadata=error.metadata)]
    if error.field:
        violation = error_details_pb2.BadRequest.FieldViolation(field=error.field, description=error.message)
        messages.append(error_details_pb2.BadRequest(field_violations=[violation]))
    if error.retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_after * 1e9))
        messages.append(error_details_pb2.RetryInfo(retry_delay=delay))
    for message in messages:
        packed = any_pb2.Any()
        packed.Pack(message)
        details.append(packed)
    return status_pb2.Status(code=error.code.value[0], message=error.message, details=details)


async def abort_with(context: Context, status: status_pb2.Status) -> None:
    converted = rpc_status.to_status(status)
    await context.abort(converted.code, converted.details, converted.trailing_metadata)


@dataclass
class Recorded:
    method: str
    metadata: dict[str, str]
    request: Any


@dataclass
class FakeCore:
    calls: list[Recorded] = field(default_factory=list)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    serving: bool = True
    target: str = ""
    _server: grpc.aio.Server | None = None

    async def start(self) -> str:
        server = grpc.aio.server()
        chat_service_pb2_grpc.add_ChatServiceServicer_to_server(_Chat(self), server)
        completion_service_pb2_grpc.add_CompletionServiceServicer_to_server(_Completions(self), server)
        embedding_service_pb2_grpc.add_EmbeddingServiceServicer_to_server(_Embeddings(self), server)
        # RPCs the façade never calls (ListDeployments) keep the generated UNIMPLEMENTED default.
        models = _Models(self)  # type: ignore[abstract]
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(models, server)
        health_servicer = health.aio.HealthServicer()
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._server = server
        self.target = f"127.0.0.1:{port}"
        return self.target

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(None)

    def record(self, method: str, request: Any, context: Context) -> None:
        metadata = {k: v if isinstance(v, str) else v.decode() for k, v in context.invocation_metadata() or ()}
        self.calls.append(Recorded(method, metadata, request))

    @property
    def last(self) -> Recorded:
        return self.calls[-1]


async def _fail_if_scripted(model: str, context: Context) -> None:
    if model.startswith("error:"):
        await abort_with(context, to_status(ERRORS[model.removeprefix("error:")]))
    if model == "crash":
        raise RuntimeError('Traceback (most recent call last):\n  File "secret.py", line 1\nboom')
    if model == "cancelled":
        await context.abort(grpc.StatusCode.CANCELLED, "cancelled by the caller")


def _usage(prompt: int, completion: int) -> common_pb2.TokenUsage:
    return common_pb2.TokenUsage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion, estimated=True
    )


def _chunk(model: str, **choice: Any) -> chat_pb2.ChatCompletionChunk:
    return chat_pb2.ChatCompletionChunk(
        id="chatcmpl-fake", created=1700000000, model=model, choices=[chat_pb2.ChatCompletionChunkChoice(**choice)]
    )


class _Chat(chat_service_pb2_grpc.ChatServiceServicer):
    def __init__(self, core: FakeCore) -> None:
        self.core = core

    async def CreateChatCompletion(
        self, request: chat_service_pb2.CreateChatCompletionRequest, context: Context
    ) -> chat_service_pb2.CreateChatCompletionResponse:
        self.core.record("CreateChatCompletion", request, context)
        params = request.params
        await _fail_if_scripted(params.model, context)
        last = params.messages[-1].text if params.messages else ""
        message = chat_pb2.ChatMessage(role=chat_pb2.CHAT_ROLE_ASSISTANT, text=f"echo: {last}")
        completion = chat_pb2.ChatCompletion(
            id="chatcmpl-fake",
            created=1700000000,
            model=params.model,
            choices=[chat_pb2.ChatCompletionChoice(index=0, message=message, finish_reason="stop")],
            usage=_usage(3, 2),
            system_fingerprint="fp_fake",
        )
        return chat_service_pb2.CreateChatCompletionResponse(completion=completion)

    async def StreamChatCompletion(
        self, request: chat_service_pb2.StreamChatCompletionRequest, context: Context
    ) -> AsyncIterator[chat_service_pb2.StreamChatCompletionResponse]:
        self.core.record("StreamChatCompletion", request, context)
        params = request.params
        model = params.model
        if model.startswith("error-early:"):
            await abort_with(context, to_status(ERRORS[model.removeprefix("error-early:")]))
        await _fail_if_scripted(model, context)
        await context.send_initial_metadata(())
        if model == "pause":
            await asyncio.sleep(0.35)
        role = chat_pb2.ChatMessage(role=chat_pb2.CHAT_ROLE_ASSISTANT, text="")
        yield chat_service_pb2.StreamChatCompletionResponse(
            chunks=[_chunk(model, delta=role), _chunk(model, delta=chat_pb2.ChatMessage(text="Hel"))]
        )
        if model == "error-mid":
            await abort_with(context, to_status(ERRORS["upstream_502"]))
        if model == "slow":
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                self.core.cancelled.set()
                raise
        yield chat_service_pb2.StreamChatCompletionResponse(
            chunks=[_chunk(model, delta=chat_pb2.ChatMessage(text="lo")), _chunk(model, finish_reason="stop")]
        )
        if params.stream_options.include_usage:
            usage_chunk = chat_pb2.ChatCompletionChunk(
                id="chatcmpl-fake", created=1700000000, model=model, usage=_usage(3, 2)
            )
            yield chat_service_pb2.StreamChatCompletionResponse(chunks=[usage_chunk])


class _Completions(completion_service_pb2_grpc.CompletionServiceServicer):
    def __init__(self, core: FakeCore) -> None:
        self.core = core

    def _completion(self, model: str, text: str, finish: str = "") -> completion_pb2.Completion:
        choice = completion_pb2.CompletionChoice(index=0, text=text, finish_reason=finish)
        return completion_pb2.Completion(id="cmpl-fake", created=1700000000, model=model, choices=[choice])

    async def CreateCompletion(
        self, request: completion_service_pb2.CreateCompletionRequest, context: Context
    ) -> completion_service_pb2.CreateCompletionResponse:
        self.core.record("CreateCompletion", request, context)
        await _fail_if_scripted(request.params.model, context)
        completion = self._completion(request.params.model, " world", "length")
        completion.usage.CopyFrom(_usage(2, 1))
        return completion_service_pb2.CreateCompletionResponse(completion=completion)

    async def StreamCompletion(
        self, request: completion_service_pb2.StreamCompletionRequest, context: Context
    ) -> AsyncIterator[completion_service_pb2.StreamCompletionResponse]:
        self.core.record("StreamCompletion", request, context)
        model = request.params.model
        await _fail_if_scripted(model, context)
        await context.send_initial_metadata(())
        yield completion_service_pb2.StreamCompletionResponse(
            chunks=[self._completion(model, " wor"), self._completion(model, "ld", "stop")]
        )
        if request.params.stream_options.include_usage:
            usage = completion_pb2.Completion(id="cmpl-fake", created=1700000000, model=model, usage=_usage(2, 2))
            yield completion_service_pb2.StreamCompletionResponse(chunks=[usage])


class _Embeddings(embedding_service_pb2_grpc.EmbeddingServiceServicer):
    def __init__(self, core: FakeCore) -> None:
        self.core = core

    async def CreateEmbeddings(
        self, request: embedding_service_pb2.CreateEmbeddingsRequest, context: Context
    ) -> embedding_service_pb2.CreateEmbeddingsResponse:
        self.core.record("CreateEmbeddings", request, context)
        params = request.params
        await _fail_if_scripted(params.model, context)
        inputs = list(params.texts.values) if params.WhichOneof("input") == "texts" else [params.text]
        result = embedding_pb2.EmbeddingList(model=params.model, usage=_usage(len(inputs), 0))
        for i, _ in enumerate(inputs):
            item = result.data.add(index=i)
            if params.encoding_format == "base64":
                item.base64 = "AACAPwAAAEAAAEBA"  # float32 [1.0, 2.0, 3.0]
            else:
                item.floats.values.extend([0.5, -0.25, 1e-07])
        return embedding_service_pb2.CreateEmbeddingsResponse(embeddings=result)


class _Models(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, core: FakeCore) -> None:
        self.core = core

    async def ListModels(
        self, request: model_service_pb2.ListModelsRequest, context: Context
    ) -> model_service_pb2.ListModelsResponse:
        self.core.record("ListModels", request, context)
        # One model per page, as core pages (AIP-158): the façade must walk every page for OpenAI's list.
        start = int(request.page_token or 0)
        more = start + 1 < len(MODELS)
        return model_service_pb2.ListModelsResponse(
            models=MODELS[start : start + 1], next_page_token=str(start + 1) if more else ""
        )

    async def GetModel(
        self, request: model_service_pb2.GetModelRequest, context: Context
    ) -> model_service_pb2.GetModelResponse:
        self.core.record("GetModel", request, context)
        for model in MODELS:
            if model.id == request.id:
                return model_service_pb2.GetModelResponse(model=model)
        await abort_with(context, to_status(errors.ModelNotFound(f"The model '{request.id}' does not exist")))
        raise AssertionError("unreachable")
