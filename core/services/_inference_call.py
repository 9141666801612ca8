"""What the inference servicers share: who is calling, how a stream reaches grpc.aio, and the metadata that
tells the client which model group and deployment answered.

Core sends `x-aqueduct-model-group` / `x-aqueduct-deployment` as gRPC *initial* metadata: for a stream with
the headers once the upstream accepted (the façade waits for them before committing its HTTP headers), for a
unary call just before the response. The façade copies them to the HTTP response headers."""

from __future__ import annotations

from typing import Any

import grpc

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


async def send_served(context: Context, served: Served) -> None:
    """Initial metadata with the serving model group and deployment. For streams this is also the signal that
    the upstream accepted, so the façade can still answer an ordinary error before it."""
    await context.send_initial_metadata(served.metadata())


# The streams' name for it: headers go out only once the upstream accepted.
accept_stream = send_served
