"""POST /v1/chat/completions (unary or streamed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aqueduct.v1 import chat_service_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aqueduct_openai import chat_chunk_to_json, chat_completion_to_json, chat_params_from_json

from ._common import BadRequest, RouteDeps, endpoint_routes, parse_body, stream, unary

ENDPOINT = "POST /v1/chat/completions"


def _render_chunks(message: chat_service_pb2.StreamChatCompletionResponse) -> Iterable[dict[str, Any]]:
    return [chat_chunk_to_json(chunk) for chunk in message.chunks]


def _render(response: chat_service_pb2.CreateChatCompletionResponse) -> dict[str, Any]:
    return chat_completion_to_json(response.completion)


def routes(deps: RouteDeps) -> list[Route]:
    async def create_chat_completion(request: Request) -> Response:
        fwd = deps.forward(request, ENDPOINT)
        try:
            params, streamed = await parse_body(request, chat_params_from_json, fwd, deps.settings)
        except BadRequest as bad:
            return bad.response
        if streamed:
            call = deps.core.chat.StreamChatCompletion(
                chat_service_pb2.StreamChatCompletionRequest(params=params), metadata=fwd.metadata
            )
            return await stream(call, _render_chunks, fwd, deps.settings)
        unary_call = deps.core.chat.CreateChatCompletion(
            chat_service_pb2.CreateChatCompletionRequest(params=params), metadata=fwd.metadata
        )
        return await unary(unary_call, _render, fwd, request)

    return endpoint_routes("/chat/completions", create_chat_completion, "POST")
