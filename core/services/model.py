"""ModelService servicer: proto in, ModelCatalog / deployment status call, proto out."""

from __future__ import annotations

from aqueduct.v1 import model_pb2, model_service_pb2, model_service_pb2_grpc

from core.auth.principal import current_principal
from core.governance.authorization import require_operator
from core.governance.limits.hooks import InferenceGovernance
from core.inference.model_catalog import ModelCatalog
from core.routing.registry import ModelGroup
from core.routing.router import Router
from core.routing.status import list_deployment_statuses
from core.services._inference_call import Context
from core.services.deployment_status import deployment_message


def model_message(group: ModelGroup) -> model_pb2.Model:
    return model_pb2.Model(
        id=group.name, created=group.created, owned_by=group.owned_by, mode=group.mode, aliases=group.aliases
    )


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, catalog: ModelCatalog, router: Router, governance: InferenceGovernance | None = None) -> None:
        self._catalog = catalog
        self._router = router
        self._governance = governance

    def _excluded(self) -> frozenset[str]:
        """Models hidden from the caller: absent from the list and 404 by name and alias (core.governance.access)."""
        if self._governance is None:
            return frozenset()
        return self._governance.excluded_models(current_principal())

    async def ListModels(
        self, request: model_service_pb2.ListModelsRequest, context: Context
    ) -> model_service_pb2.ListModelsResponse:
        page = self._catalog.page(request.page_size, request.page_token, self._excluded())
        return model_service_pb2.ListModelsResponse(
            models=[model_message(m) for m in page.items], next_page_token=page.next_page_token
        )

    async def GetModel(
        self, request: model_service_pb2.GetModelRequest, context: Context
    ) -> model_service_pb2.GetModelResponse:
        return model_service_pb2.GetModelResponse(model=model_message(self._catalog.get(request.id, self._excluded())))

    async def ListDeployments(
        self, request: model_service_pb2.ListDeploymentsRequest, context: Context
    ) -> model_service_pb2.ListDeploymentsResponse:
        require_operator(current_principal())
        page = list_deployment_statuses(
            self._router.registry,
            self._router.board,
            model=request.model,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return model_service_pb2.ListDeploymentsResponse(
            deployments=[deployment_message(s) for s in page.items], next_page_token=page.next_page_token
        )
