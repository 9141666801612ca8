"""OrgService servicer: proto in, Orgs call with the current principal, proto out."""

from __future__ import annotations

from typing import Any

import grpc
from aqueduct.v1 import org_service_pb2 as pb
from aqueduct.v1 import org_service_pb2_grpc

from core.auth.principal import current_principal
from core.services._tenancy_messages import org_message
from core.tenancy import Orgs, validation
from core.tenancy.names import OrgName, org_name

Context = grpc.aio.ServicerContext[Any, Any]


class OrgServicer(org_service_pb2_grpc.OrgServiceServicer):
    def __init__(self, orgs: Orgs) -> None:
        self._orgs = orgs

    async def GetOrg(self, request: pb.GetOrgRequest, context: Context) -> pb.GetOrgResponse:
        return pb.GetOrgResponse(org=org_message(await self._orgs.get(current_principal(), org_name(request.name))))

    async def ListOrgs(self, request: pb.ListOrgsRequest, context: Context) -> pb.ListOrgsResponse:
        page = await self._orgs.list(current_principal(), request.page_size, request.page_token)
        return pb.ListOrgsResponse(orgs=[org_message(o) for o in page.items], next_page_token=page.next_page_token)

    async def CreateOrg(self, request: pb.CreateOrgRequest, context: Context) -> pb.CreateOrgResponse:
        name = OrgName(validation.name(request.org_id, "org_id"))
        return pb.CreateOrgResponse(org=org_message(await self._orgs.create(current_principal(), name)))

    async def DeleteOrg(self, request: pb.DeleteOrgRequest, context: Context) -> pb.DeleteOrgResponse:
        await self._orgs.delete(current_principal(), org_name(request.name))
        return pb.DeleteOrgResponse()
