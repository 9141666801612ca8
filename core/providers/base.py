"""The one Protocol every upstream adapter implements. Bodies are OpenAI JSON objects (dicts), so adapters
never see protobuf and the inference code never sees HTTP."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from core.routing.deployment import Deployment

JSONObject = dict[str, Any]


class UpstreamStream(Protocol):
    """A stream the upstream has accepted (HTTP 200 headers received). `batches()` yields the parsed JSON
    objects of the SSE events that have arrived, a non-empty list each time (whatever one read brought: the
    consumer handles a burst in one go instead of one loop turn per event); it ends at `[DONE]` or end of body
    and raises domain errors (core.errors) after yielding the events before the failure. Iterating the stream
    itself yields the same events one by one. `aclose()` stops the upstream request at once; it is safe to
    call twice or from another task."""

    def batches(self) -> AsyncGenerator[list[JSONObject], None]: ...

    def __aiter__(self) -> AsyncIterator[JSONObject]: ...

    async def aclose(self) -> None: ...


class BatchedStream:
    """Gives an UpstreamStream implementation its event-by-event iteration from its `batches()`."""

    def batches(self) -> AsyncGenerator[list[JSONObject], None]:
        raise NotImplementedError

    async def __aiter__(self) -> AsyncIterator[JSONObject]:
        async for batch in self.batches():
            for event in batch:
                yield event


class Provider(Protocol):
    """An adapter bound to one deployment. `body` carries the public model name; the adapter sends its
    deployment's upstream model name and credentials instead. `request_id` is forwarded as x-request-id."""

    async def chat_completion(self, body: JSONObject, *, request_id: str) -> JSONObject: ...

    async def stream_chat_completion(self, body: JSONObject, *, request_id: str) -> UpstreamStream: ...

    async def completion(self, body: JSONObject, *, request_id: str) -> JSONObject: ...

    async def stream_completion(self, body: JSONObject, *, request_id: str) -> UpstreamStream: ...

    async def embeddings(self, body: JSONObject, *, request_id: str) -> JSONObject: ...

    async def aclose(self) -> None: ...


class ProviderLookup(Protocol):
    """What the inference code needs: the adapter serving a deployment."""

    def get(self, deployment: Deployment) -> Provider: ...
