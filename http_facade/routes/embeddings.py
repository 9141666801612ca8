"""POST /v1/embeddings."""

from __future__ import annotations

from typing import Any

from aqueduct.v1 import embedding_service_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aqueduct_openai import embedding_list_to_json, embedding_params_from_json

from ._common import BadRequest, RouteDeps, endpoint_routes, parse_body, unary

ENDPOINT = "POST /v1/embeddings"


def _render(response: embedding_service_pb2.CreateEmbeddingsResponse) -> dict[str, Any]:
    return embedding_list_to_json(response.embeddings)


def routes(deps: RouteDeps) -> list[Route]:
    async def create_embeddings(request: Request) -> Response:
        fwd = deps.forward(request, ENDPOINT)
        try:
            params, _ = await parse_body(request, embedding_params_from_json, fwd, deps.settings)
        except BadRequest as bad:
            return bad.response
        call = deps.core.embeddings.CreateEmbeddings(
            embedding_service_pb2.CreateEmbeddingsRequest(params=params), metadata=fwd.metadata
        )
        return await unary(call, _render, fwd, request)

    return endpoint_routes("/embeddings", create_embeddings, "POST")
