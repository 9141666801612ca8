"""What the inference servicers share: who is calling, and the one step that sends the RPC's response metadata.

Every inference RPC collects its response metadata (rate-limit headers, the model group and deployment that
answered) in one ResponseMetadata and sends it once, as initial metadata, when the upstream has accepted: for
streams before the first message (the façade waits for it before committing its HTTP headers, so earlier
failures are ordinary HTTP errors), for unary calls with the response."""

from __future__ import annotations

from typing import Any

import grpc

from core.inference.caller import Caller, current_caller
from core.inference.response_metadata import ResponseMetadata
from core.request_context import RequestContext

Context = grpc.aio.ServicerContext[Any, Any]


def caller_of(context: Context, method: str) -> Caller:
    """The authenticated caller (PermissionDenied for the bootstrap admin) with the request's labels."""
    request = RequestContext.from_metadata(context.invocation_metadata(), method, context.peer())
    return current_caller(request)


async def send_response_metadata(context: Context, metadata: ResponseMetadata) -> None:
    """Sends the collected pairs as initial metadata (once per RPC, after the upstream accepted)."""
    await context.send_initial_metadata(metadata.pairs())
