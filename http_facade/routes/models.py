"""GET /v1/models and GET /v1/models/{id} (ids may contain "/")."""

from __future__ import annotations

from typing import Any

from aqueduct.v1 import model_service_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aqueduct_openai import model_list_to_json, model_to_json

from ._common import RouteDeps, endpoint_routes, unary

LIST_ENDPOINT = "GET /v1/models"


def _render_list(response: model_service_pb2.ListModelsResponse) -> dict[str, Any]:
    return model_list_to_json(response.models)


def _render_one(response: model_service_pb2.GetModelResponse) -> dict[str, Any]:
    return model_to_json(response.model)


def routes(deps: RouteDeps) -> list[Route]:
    async def list_models(request: Request) -> Response:
        fwd = deps.forward(request, LIST_ENDPOINT)
        # page_size 0 asks core for every model: OpenAI's list is not paginated.
        call = deps.core.models.ListModels(model_service_pb2.ListModelsRequest(page_size=0), metadata=fwd.metadata)
        return await unary(call, _render_list, fwd)

    async def get_model(request: Request) -> Response:
        model_id: str = request.path_params["model_id"]
        fwd = deps.forward(request, f"GET /v1/models/{model_id}")
        call = deps.core.models.GetModel(model_service_pb2.GetModelRequest(id=model_id), metadata=fwd.metadata)
        return await unary(call, _render_one, fwd)

    return [
        *endpoint_routes("/models", list_models, "GET"),
        *endpoint_routes("/models/{model_id:path}", get_model, "GET"),
    ]
