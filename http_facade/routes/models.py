"""GET /v1/models and GET /v1/models/{id} (ids may contain "/")."""

from __future__ import annotations

from typing import Any

from aqueduct.v1 import model_service_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aqueduct_openai import model_list_to_json, model_to_json
from http_facade.forwarding import Metadata

from ._common import RouteDeps, both_paths, unary

LIST_ENDPOINT = "GET /v1/models"
# Core's maximum page size (core.pagination.MAX_PAGE_SIZE): one call for any realistic model list.
MODELS_PAGE_SIZE = 1000


def _render_list(response: model_service_pb2.ListModelsResponse) -> dict[str, Any]:
    return model_list_to_json(response.models)


def _render_one(response: model_service_pb2.GetModelResponse) -> dict[str, Any]:
    return model_to_json(response.model)


async def _every_model(deps: RouteDeps, metadata: Metadata) -> model_service_pb2.ListModelsResponse:
    """OpenAI's list is not paginated: walk core's pages into one response (ListModels sets no response
    metadata, so nothing is lost by not handing `unary` the calls themselves)."""
    every = model_service_pb2.ListModelsResponse()
    token = ""
    while True:
        page = await deps.core.models.ListModels(
            model_service_pb2.ListModelsRequest(page_size=MODELS_PAGE_SIZE, page_token=token), metadata=metadata
        )
        every.models.extend(page.models)
        token = page.next_page_token
        if not token:
            return every


def routes(deps: RouteDeps) -> list[Route]:
    async def list_models(request: Request) -> Response:
        fwd = deps.forward(request, LIST_ENDPOINT)
        return await unary(_every_model(deps, fwd.metadata), _render_list, fwd)

    async def get_model(request: Request) -> Response:
        model_id: str = request.path_params["model_id"]
        fwd = deps.forward(request, f"GET /v1/models/{model_id}")
        call = deps.core.models.GetModel(model_service_pb2.GetModelRequest(id=model_id), metadata=fwd.metadata)
        return await unary(call, _render_one, fwd)

    return [
        *(Route(path, list_models, methods=["GET"]) for path in both_paths("/models")),
        *(Route(path, get_model, methods=["GET"]) for path in both_paths("/models/{model_id:path}")),
    ]
