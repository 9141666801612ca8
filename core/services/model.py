"""ModelService servicer: proto in, ModelCatalog call, proto out."""

from __future__ import annotations

from aqueduct.v1 import model_pb2, model_service_pb2, model_service_pb2_grpc

from core.inference.model_catalog import ModelCatalog
from core.routing.registry import ModelGroup
from core.services._inference_call import Context


def model_message(group: ModelGroup) -> model_pb2.Model:
    return model_pb2.Model(
        id=group.name, created=group.created, owned_by=group.owned_by, mode=group.mode, aliases=group.aliases
    )


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, catalog: ModelCatalog) -> None:
        self._catalog = catalog

    async def ListModels(
        self, request: model_service_pb2.ListModelsRequest, context: Context
    ) -> model_service_pb2.ListModelsResponse:
        models, next_token = self._catalog.page(request.page_size, request.page_token)
        return model_service_pb2.ListModelsResponse(
            models=[model_message(m) for m in models], next_page_token=next_token
        )

    async def GetModel(
        self, request: model_service_pb2.GetModelRequest, context: Context
    ) -> model_service_pb2.GetModelResponse:
        return model_service_pb2.GetModelResponse(model=model_message(self._catalog.get(request.id)))
