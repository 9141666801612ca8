"""UserService servicer: proto in, Users call with the current principal, proto out."""

from __future__ import annotations

from typing import Any

import grpc
from aqueduct.v1 import user_pb2, user_service_pb2_grpc
from aqueduct.v1 import user_service_pb2 as pb

from core.auth.principal import Role, current_principal
from core.errors import InvalidRequest
from core.services._tenancy_messages import role_from_proto, update_paths, user_message
from core.tenancy import Users, validation
from core.tenancy.names import UserName, optional_org, org_name, user_name

Context = grpc.aio.ServicerContext[Any, Any]
_MUTABLE = ("role",)


class UserServicer(user_service_pb2_grpc.UserServiceServicer):
    def __init__(self, users: Users) -> None:
        self._users = users

    async def GetUser(self, request: pb.GetUserRequest, context: Context) -> pb.GetUserResponse:
        return pb.GetUserResponse(
            user=user_message(await self._users.get(current_principal(), user_name(request.name)))
        )

    async def ListUsers(self, request: pb.ListUsersRequest, context: Context) -> pb.ListUsersResponse:
        org = optional_org(request.org, "org")
        page = await self._users.list(current_principal(), org, request.page_size, request.page_token)
        return pb.ListUsersResponse(users=[user_message(u) for u in page.items], next_page_token=page.next_page_token)

    async def CreateUser(self, request: pb.CreateUserRequest, context: Context) -> pb.CreateUserResponse:
        name = UserName(validation.email(request.user_id, "user_id"))
        org = org_name(request.user.org, "user.org")
        role = Role.USER
        if request.user.role != user_pb2.ROLE_UNSPECIFIED:
            role = role_from_proto(request.user.role, "user.role")
        return pb.CreateUserResponse(user=user_message(await self._users.create(current_principal(), name, org, role)))

    async def UpdateUser(self, request: pb.UpdateUserRequest, context: Context) -> pb.UpdateUserResponse:
        name = user_name(request.user.name, "user.name")
        if not update_paths(request.update_mask, request.user, _MUTABLE):
            raise InvalidRequest("nothing to update: name a field in update_mask", field="update_mask")
        role = role_from_proto(request.user.role, "user.role")
        return pb.UpdateUserResponse(user=user_message(await self._users.set_role(current_principal(), name, role)))

    async def DeleteUser(self, request: pb.DeleteUserRequest, context: Context) -> pb.DeleteUserResponse:
        await self._users.delete(current_principal(), user_name(request.name))
        return pb.DeleteUserResponse()
