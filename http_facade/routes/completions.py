"""POST /v1/completions (legacy text completions, unary or streamed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aqueduct.v1 import completion_service_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aqueduct_openai import completion_params_from_json, completion_to_json

from ._common import BadRequest, RouteDeps, endpoint_routes, parse_body, stream, unary

ENDPOINT = "POST /v1/completions"


def _render_chunks(message: completion_service_pb2.StreamCompletionResponse) -> Iterable[dict[str, Any]]:
    return [completion_to_json(chunk, chunk=True) for chunk in message.chunks]


def _render(response: completion_service_pb2.CreateCompletionResponse) -> dict[str, Any]:
    return completion_to_json(response.completion)


def routes(deps: RouteDeps) -> list[Route]:
    async def create_completion(request: Request) -> Response:
        fwd = deps.forward(request, ENDPOINT)
        try:
            params, streamed = await parse_body(request, completion_params_from_json, fwd, deps.settings)
        except BadRequest as bad:
            return bad.response
        if streamed:
            call = deps.core.completions.StreamCompletion(
                completion_service_pb2.StreamCompletionRequest(params=params), metadata=fwd.metadata
            )
            return await stream(call, _render_chunks, fwd, deps.settings)
        unary_call = deps.core.completions.CreateCompletion(
            completion_service_pb2.CreateCompletionRequest(params=params), metadata=fwd.metadata
        )
        return await unary(unary_call, _render, fwd, request)

    return endpoint_routes("/completions", create_completion, "POST")
