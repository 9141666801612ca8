"""What the inference servicers share: who is calling, how a stream reaches grpc.aio, and the metadata that
tells the client which model group and deployment answered.

`x-aqueduct-model-group` / `x-aqueduct-deployment` travel as gRPC metadata that the façade copies to the HTTP
response headers:
- streams: *initial* metadata, sent once the upstream accepted (the façade waits for it before committing its
  HTTP headers), together with the x-ratelimit-* pairs of core.governance.limits;
- unary calls: *trailing* metadata, because initial metadata of unary calls is sent by core.governance.limits'
  RateLimitMetadataInterceptor after the servicer returned, and can be sent only once."""

from __future__ import annotations

from typing import Any

import grpc

from core.governance.limits.headers import response_metadata
from core.inference.caller import Caller, current_caller
from core.inference.pipeline import ServedBy
from core.request_context import RequestContext

Context = grpc.aio.ServicerContext[Any, Any]

MODEL_GROUP_HEADER = "x-aqueduct-model-group"
DEPLOYMENT_HEADER = "x-aqueduct-deployment"


def caller_of(context: Context, method: str) -> Caller:
    """The authenticated caller (PermissionDenied for the bootstrap admin) with the request's labels."""
    request = RequestContext.from_metadata(context.invocation_metadata(), method, context.peer())
    return current_caller(request)


class Served:
    """Remembers which deployment answered (pass `served.record` as `on_served`)."""

    def __init__(self) -> None:
        self.by: ServedBy | None = None

    def record(self, served: ServedBy) -> None:
        self.by = served

    def metadata(self) -> tuple[tuple[str, str], ...]:
        if self.by is None:
            return ()
        pairs = ((MODEL_GROUP_HEADER, self.by.model_group), (DEPLOYMENT_HEADER, self.by.deployment))
        # gRPC metadata values must be printable ASCII; a model name that is not stays out of the headers.
        return tuple((k, v) for k, v in pairs if v.isascii() and v.isprintable())


async def accept_stream(context: Context, served: Served) -> None:
    """Headers go out only once the upstream accepted, so the façade can still answer an ordinary error."""
    await context.send_initial_metadata((*served.metadata(), *response_metadata()))


def set_served_trailers(context: Context, served: Served) -> None:
    """For unary calls: the serving model group and deployment as trailing metadata."""
    context.set_trailing_metadata(served.metadata())
