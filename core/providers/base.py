"""The one Protocol every upstream adapter implements. Bodies are OpenAI JSON objects (dicts), so adapters
never see protobuf and the inference code never sees HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from core.routing.deployment import Deployment

JSONObject = dict[str, Any]


class UpstreamStream(Protocol):
    """A stream the upstream has accepted (HTTP 200 headers received). Iterating yields each SSE event's
    parsed JSON object, ends at `[DONE]` or end of body, and raises domain errors (core.errors).
    `aclose()` stops the upstream request at once; it is safe to call twice or from another task."""

    def __aiter__(self) -> AsyncIterator[JSONObject]: ...

    async def aclose(self) -> None: ...


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
