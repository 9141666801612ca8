"""AdminService servicer: proto in, TenancyService call with the current principal, proto out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
from aqueduct.v1 import admin_service_pb2 as pb
from aqueduct.v1 import admin_service_pb2_grpc, tenancy_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from core.auth.principal import Role, current_principal
from core.tenancy import (
    MemberView,
    OrgView,
    ServiceAccountView,
    TeamView,
    TenancyService,
    TokenView,
    UserView,
)

Context = grpc.aio.ServicerContext[Any, Any]

_ROLE_FROM_PROTO = {
    tenancy_pb2.ROLE_UNSPECIFIED: Role.USER,
    tenancy_pb2.ROLE_USER: Role.USER,
    tenancy_pb2.ROLE_ORG_ADMIN: Role.ORG_ADMIN,
    tenancy_pb2.ROLE_ADMIN: Role.ADMIN,
}
_ROLE_TO_PROTO = {
    Role.USER: tenancy_pb2.ROLE_USER,
    Role.ORG_ADMIN: tenancy_pb2.ROLE_ORG_ADMIN,
    Role.ADMIN: tenancy_pb2.ROLE_ADMIN,
}


def _ts(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def _org(v: OrgView) -> tenancy_pb2.Org:
    return tenancy_pb2.Org(id=v.id, name=v.name, create_time=_ts(v.created_at))


def _user(v: UserView) -> tenancy_pb2.User:
    return tenancy_pb2.User(
        id=v.id, email=v.email, org=v.org, role=_ROLE_TO_PROTO[v.role], create_time=_ts(v.created_at)
    )


def _team(v: TeamView) -> tenancy_pb2.Team:
    return tenancy_pb2.Team(id=v.id, name=v.name, org=v.org, create_time=_ts(v.created_at))


def _member(v: MemberView) -> tenancy_pb2.TeamMember:
    return tenancy_pb2.TeamMember(team=v.team, org=v.org, email=v.email, team_admin=v.team_admin)


def _token(v: TokenView) -> tenancy_pb2.Token:
    msg = tenancy_pb2.Token(
        id=v.id,
        name=v.name,
        preview=v.preview,
        user_email=v.user_email,
        service_account=v.service_account or "",
        create_time=_ts(v.created_at),
    )
    if v.expires_at is not None:
        msg.expire_time.CopyFrom(_ts(v.expires_at))
    return msg


def _account(v: ServiceAccountView) -> tenancy_pb2.ServiceAccount:
    return tenancy_pb2.ServiceAccount(
        id=v.id,
        name=v.name,
        team=v.team,
        org=v.org,
        owner_email=v.owner_email,
        token_id=v.token_id,
        create_time=_ts(v.created_at),
    )


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    def __init__(self, tenancy: TenancyService) -> None:
        self._t = tenancy

    async def CreateOrg(self, request: pb.CreateOrgRequest, context: Context) -> pb.CreateOrgResponse:
        return pb.CreateOrgResponse(org=_org(await self._t.create_org(current_principal(), request.name)))

    async def ListOrgs(self, request: pb.ListOrgsRequest, context: Context) -> pb.ListOrgsResponse:
        page = await self._t.list_orgs(current_principal(), request.page_size, request.page_token)
        return pb.ListOrgsResponse(orgs=[_org(o) for o in page.items], next_page_token=page.next_page_token)

    async def DeleteOrg(self, request: pb.DeleteOrgRequest, context: Context) -> pb.DeleteOrgResponse:
        await self._t.delete_org(current_principal(), request.name)
        return pb.DeleteOrgResponse()

    async def CreateUser(self, request: pb.CreateUserRequest, context: Context) -> pb.CreateUserResponse:
        role = _ROLE_FROM_PROTO.get(request.role, Role.USER)
        user = await self._t.create_user(current_principal(), request.email, request.org, role)
        return pb.CreateUserResponse(user=_user(user))

    async def ListUsers(self, request: pb.ListUsersRequest, context: Context) -> pb.ListUsersResponse:
        page = await self._t.list_users(current_principal(), request.org, request.page_size, request.page_token)
        return pb.ListUsersResponse(users=[_user(u) for u in page.items], next_page_token=page.next_page_token)

    async def DeleteUser(self, request: pb.DeleteUserRequest, context: Context) -> pb.DeleteUserResponse:
        await self._t.delete_user(current_principal(), request.email)
        return pb.DeleteUserResponse()

    async def CreateTeam(self, request: pb.CreateTeamRequest, context: Context) -> pb.CreateTeamResponse:
        team = await self._t.create_team(current_principal(), request.name, request.org)
        return pb.CreateTeamResponse(team=_team(team))

    async def ListTeams(self, request: pb.ListTeamsRequest, context: Context) -> pb.ListTeamsResponse:
        page = await self._t.list_teams(current_principal(), request.org, request.page_size, request.page_token)
        return pb.ListTeamsResponse(teams=[_team(t) for t in page.items], next_page_token=page.next_page_token)

    async def DeleteTeam(self, request: pb.DeleteTeamRequest, context: Context) -> pb.DeleteTeamResponse:
        await self._t.delete_team(current_principal(), request.name, request.org)
        return pb.DeleteTeamResponse()

    async def AddTeamMember(self, request: pb.AddTeamMemberRequest, context: Context) -> pb.AddTeamMemberResponse:
        member = await self._t.add_team_member(
            current_principal(), request.team, request.org, request.email, request.team_admin
        )
        return pb.AddTeamMemberResponse(member=_member(member))

    async def RemoveTeamMember(
        self, request: pb.RemoveTeamMemberRequest, context: Context
    ) -> pb.RemoveTeamMemberResponse:
        await self._t.remove_team_member(current_principal(), request.team, request.org, request.email)
        return pb.RemoveTeamMemberResponse()

    async def ListTeamMembers(self, request: pb.ListTeamMembersRequest, context: Context) -> pb.ListTeamMembersResponse:
        page = await self._t.list_team_members(
            current_principal(), request.team, request.org, request.page_size, request.page_token
        )
        return pb.ListTeamMembersResponse(
            members=[_member(m) for m in page.items], next_page_token=page.next_page_token
        )

    async def CreateToken(self, request: pb.CreateTokenRequest, context: Context) -> pb.CreateTokenResponse:
        expires_at = request.expire_time.ToDatetime(tzinfo=UTC) if request.HasField("expire_time") else None
        created = await self._t.create_token(current_principal(), request.user_email, request.name, expires_at)
        return pb.CreateTokenResponse(token=_token(created.token), secret=created.secret)

    async def ListTokens(self, request: pb.ListTokensRequest, context: Context) -> pb.ListTokensResponse:
        page = await self._t.list_tokens(current_principal(), request.user_email, request.page_size, request.page_token)
        return pb.ListTokensResponse(tokens=[_token(t) for t in page.items], next_page_token=page.next_page_token)

    async def RegenerateToken(self, request: pb.RegenerateTokenRequest, context: Context) -> pb.RegenerateTokenResponse:
        created = await self._t.regenerate_token(current_principal(), request.id)
        return pb.RegenerateTokenResponse(token=_token(created.token), secret=created.secret)

    async def DeleteToken(self, request: pb.DeleteTokenRequest, context: Context) -> pb.DeleteTokenResponse:
        await self._t.delete_token(current_principal(), request.id)
        return pb.DeleteTokenResponse()

    async def CreateServiceAccount(
        self, request: pb.CreateServiceAccountRequest, context: Context
    ) -> pb.CreateServiceAccountResponse:
        created = await self._t.create_service_account(
            current_principal(), request.name, request.team, request.org, request.owner_email
        )
        return pb.CreateServiceAccountResponse(service_account=_account(created.service_account), secret=created.secret)

    async def ListServiceAccounts(
        self, request: pb.ListServiceAccountsRequest, context: Context
    ) -> pb.ListServiceAccountsResponse:
        page = await self._t.list_service_accounts(
            current_principal(), request.team, request.org, request.page_size, request.page_token
        )
        return pb.ListServiceAccountsResponse(
            service_accounts=[_account(a) for a in page.items], next_page_token=page.next_page_token
        )

    async def DeleteServiceAccount(
        self, request: pb.DeleteServiceAccountRequest, context: Context
    ) -> pb.DeleteServiceAccountResponse:
        await self._t.delete_service_account(current_principal(), request.name, request.team, request.org)
        return pb.DeleteServiceAccountResponse()


def add_to_server(server: grpc.aio.Server, servicer: AdminServicer) -> None:
    admin_service_pb2_grpc.add_AdminServiceServicer_to_server(servicer, server)
