"""ServiceAccountService servicer: proto in, ServiceAccounts call with the current principal, proto out. The
account token's secret appears only in the Create response."""

from __future__ import annotations

from typing import Any

import grpc
from aqueduct.v1 import service_account_service_pb2 as pb
from aqueduct.v1 import service_account_service_pb2_grpc

from core.auth.principal import current_principal
from core.errors import InvalidRequest
from core.services._tenancy_messages import service_account_message, update_paths
from core.tenancy import ServiceAccounts, validation
from core.tenancy.names import (
    ServiceAccountName,
    account_parent,
    optional_user,
    service_account_name,
    team_name,
    user_name,
)

Context = grpc.aio.ServicerContext[Any, Any]
_MUTABLE = ("owner",)


class ServiceAccountServicer(service_account_service_pb2_grpc.ServiceAccountServiceServicer):
    def __init__(self, accounts: ServiceAccounts) -> None:
        self._accounts = accounts

    async def GetServiceAccount(
        self, request: pb.GetServiceAccountRequest, context: Context
    ) -> pb.GetServiceAccountResponse:
        account = await self._accounts.get(current_principal(), service_account_name(request.name))
        return pb.GetServiceAccountResponse(service_account=service_account_message(account))

    async def ListServiceAccounts(
        self, request: pb.ListServiceAccountsRequest, context: Context
    ) -> pb.ListServiceAccountsResponse:
        parent = account_parent(request.parent)
        page = await self._accounts.list(current_principal(), parent, request.page_size, request.page_token)
        return pb.ListServiceAccountsResponse(
            service_accounts=[service_account_message(a) for a in page.items], next_page_token=page.next_page_token
        )

    async def CreateServiceAccount(
        self, request: pb.CreateServiceAccountRequest, context: Context
    ) -> pb.CreateServiceAccountResponse:
        team = team_name(request.parent, "parent")
        name = ServiceAccountName(
            team.org, team.team, validation.name(request.service_account_id, "service_account_id")
        )
        owner = optional_user(request.service_account.owner, "service_account.owner")
        created = await self._accounts.create(current_principal(), name, owner)
        return pb.CreateServiceAccountResponse(
            service_account=service_account_message(created.service_account), secret=created.secret
        )

    async def UpdateServiceAccount(
        self, request: pb.UpdateServiceAccountRequest, context: Context
    ) -> pb.UpdateServiceAccountResponse:
        account = request.service_account
        name = service_account_name(account.name, "service_account.name")
        if not update_paths(request.update_mask, account, _MUTABLE):
            raise InvalidRequest("nothing to update: name a field in update_mask", field="update_mask")
        owner = user_name(account.owner, "service_account.owner")
        updated = await self._accounts.set_owner(current_principal(), name, owner)
        return pb.UpdateServiceAccountResponse(service_account=service_account_message(updated))

    async def DeleteServiceAccount(
        self, request: pb.DeleteServiceAccountRequest, context: Context
    ) -> pb.DeleteServiceAccountResponse:
        await self._accounts.delete(current_principal(), service_account_name(request.name))
        return pb.DeleteServiceAccountResponse()
