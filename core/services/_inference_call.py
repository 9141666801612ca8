"""What the inference servicers share: who is calling, and how a stream reaches grpc.aio."""

from __future__ import annotations

from typing import Any

import grpc

from core.inference.caller import Caller, current_caller
from core.request_context import RequestContext

Context = grpc.aio.ServicerContext[Any, Any]


def caller_of(context: Context, method: str) -> Caller:
    """The authenticated caller (PermissionDenied for the bootstrap admin) with the request's labels."""
    request = RequestContext.from_metadata(context.invocation_metadata(), method, context.peer())
    return current_caller(request)


async def accept_stream(context: Context) -> None:
    """Headers go out only once the upstream accepted, so the façade can still answer an ordinary error."""
    await context.send_initial_metadata(())
