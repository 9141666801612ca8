"""Socket-free fakes for the inference domain: a scripted provider and a recording usage sink."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

from core.auth.principal import Principal, Role
from core.inference.caller import Caller
from core.inference.pipeline import InferenceDeps
from core.providers.base import BatchedStream, JSONObject, Provider, UpstreamStream
from core.request_context import RequestContext
from core.routing import Deployment, ModelRegistry
from core.settings import Settings
from core.usage.events import UsageEvent

Step = JSONObject | Exception | asyncio.Event


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[UsageEvent] = []

    def begin(self, event: UsageEvent) -> int | None:
        return None

    def record(self, event: UsageEvent, begun: int | None = None) -> None:
        self.events.append(event)

    @property
    def only(self) -> UsageEvent:
        assert len(self.events) == 1, self.events
        return self.events[0]


class ScriptedStream(BatchedStream):
    """Yields events in order; consecutive events form one batch (they "arrived together"); an Exception
    step is raised; an asyncio.Event step waits for it (ending the batch before it)."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps
        self.closed = False
        self.yielded = 0

    async def batches(self) -> AsyncGenerator[list[JSONObject], None]:
        batch: list[JSONObject] = []
        for step in self.steps:
            if isinstance(step, dict):
                batch.append(step)
                continue
            if batch:
                self.yielded += len(batch)
                yield batch
                batch = []
            if isinstance(step, asyncio.Event):
                await step.wait()
            else:
                raise step
        if batch:
            self.yielded += len(batch)
            yield batch

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class FakeProvider:
    """Answers every call from the attributes; records (method, body, request_id)."""

    response: JSONObject = field(default_factory=dict)
    stream: ScriptedStream = field(default_factory=lambda: ScriptedStream([]))
    error: Exception | None = None
    calls: list[tuple[str, JSONObject, str]] = field(default_factory=list)

    async def _call(self, method: str, body: JSONObject, request_id: str) -> JSONObject:
        self.calls.append((method, body, request_id))
        await asyncio.sleep(0)
        if self.error is not None:
            raise self.error
        return dict(self.response)

    async def _open(self, method: str, body: JSONObject, request_id: str) -> UpstreamStream:
        await self._call(method, body, request_id)
        return self.stream

    async def chat_completion(self, body: JSONObject, *, request_id: str) -> JSONObject:
        return await self._call("chat", body, request_id)

    async def stream_chat_completion(self, body: JSONObject, *, request_id: str) -> UpstreamStream:
        return await self._open("stream_chat", body, request_id)

    async def completion(self, body: JSONObject, *, request_id: str) -> JSONObject:
        return await self._call("completion", body, request_id)

    async def stream_completion(self, body: JSONObject, *, request_id: str) -> UpstreamStream:
        return await self._open("stream_completion", body, request_id)

    async def embeddings(self, body: JSONObject, *, request_id: str) -> JSONObject:
        return await self._call("embeddings", body, request_id)

    async def aclose(self) -> None:
        return None

    @property
    def last_body(self) -> JSONObject:
        return self.calls[-1][1]


class OneProvider:
    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    def get(self, deployment: Deployment) -> Provider:
        return self.provider


MODEL_LIST: list[dict[str, Any]] = [
    {
        "model_name": "chat-model",
        "litellm_params": {"model": "openai/upstream-chat", "api_base": "http://127.0.0.1:9/v1"},
        "model_info": {"mode": "chat", "aliases": ["main"]},
    },
    {
        "model_name": "text-model",
        "litellm_params": {"model": "openai/upstream-text", "api_base": "http://127.0.0.1:9/v1"},
        "model_info": {"mode": "completion"},
    },
    {
        "model_name": "embed-model",
        "litellm_params": {"model": "openai/upstream-embed", "api_base": "http://127.0.0.1:9/v1"},
        "model_info": {"mode": "embedding"},
    },
]


def make_deps(provider: Provider, sink: RecordingSink, max_chunks: int = 64) -> InferenceDeps:
    registry = ModelRegistry.from_settings(Settings.model_validate({"model_list": MODEL_LIST}))
    return InferenceDeps(
        registry=registry, providers=OneProvider(provider), usage=sink, max_chunks_per_message=max_chunks
    )


def make_caller(endpoint: str = "POST /v1/chat/completions") -> Caller:
    principal = Principal(
        role=Role.USER, token_id="tok-1", user_id="user-1", org_id="org-1", team_id=None, service_account_id=None
    )
    method, _, path = endpoint.partition(" ")
    request = RequestContext(
        request_id="req-123", endpoint_method=method, endpoint_path=path, user_agent="pytest", client_addr="127.0.0.1"
    )
    return Caller(principal=principal, request=request)


def chat_chunk(
    content: str | None = None,
    *,
    finish: str | None = None,
    usage: JSONObject | None = None,
    choices: bool = True,
    with_null_usage: bool = False,
) -> JSONObject:
    event: JSONObject = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "upstream-chat"}
    if choices:
        delta: JSONObject = {} if content is None else {"content": content}
        event["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    else:
        event["choices"] = []
    if usage is not None:
        event["usage"] = usage
    elif with_null_usage:
        event["usage"] = None
    return event


def usage_json(prompt: int, completion: int) -> JSONObject:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
