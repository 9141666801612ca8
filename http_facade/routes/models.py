"""GET /v1/models and GET /v1/models/{id} (ids may contain "/")."""

from __future__ import annotations

from typing import Any

import grpc
from aqueduct.v1 import model_pb2, model_service_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aqueduct_openai import model_list_to_json, model_to_json
from http_facade.errors import error_response, from_rpc_error
from http_facade.forwarding import response_headers
from http_facade.responses import json_response

from ._common import RouteDeps, endpoint_routes, unary

LIST_ENDPOINT = "GET /v1/models"
# Core's maximum page size (core.pagination.MAX_PAGE_SIZE): one call for any realistic model list.
MODELS_PAGE_SIZE = 1000


def _render_one(response: model_service_pb2.GetModelResponse) -> dict[str, Any]:
    return model_to_json(response.model)


def routes(deps: RouteDeps) -> list[Route]:
    async def list_models(request: Request) -> Response:
        """OpenAI's list is not paginated: core's pages are walked into one answer."""
        fwd = deps.forward(request, LIST_ENDPOINT)
        models: list[model_pb2.Model] = []
        token = ""
        while True:
            call = deps.core.models.ListModels(
                model_service_pb2.ListModelsRequest(page_size=MODELS_PAGE_SIZE, page_token=token), metadata=fwd.metadata
            )
            try:
                page = await call
            except grpc.aio.AioRpcError as exc:
                return error_response(from_rpc_error(exc), fwd.request_id)
            models.extend(page.models)
            token = page.next_page_token
            if not token:
                return json_response(model_list_to_json(models), headers=await response_headers(call, fwd.request_id))

    async def get_model(request: Request) -> Response:
        model_id: str = request.path_params["model_id"]
        fwd = deps.forward(request, f"GET /v1/models/{model_id}")
        call = deps.core.models.GetModel(model_service_pb2.GetModelRequest(id=model_id), metadata=fwd.metadata)
        return await unary(call, _render_one, fwd, request)

    return [
        *endpoint_routes("/models", list_models, "GET"),
        *endpoint_routes("/models/{model_id:path}", get_model, "GET"),
    ]
