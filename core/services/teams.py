"""TeamService servicer (teams and their members): proto in, Teams / TeamMembers call with the current
principal, proto out."""

from __future__ import annotations

from typing import Any

import grpc
from aqueduct.v1 import team_service_pb2 as pb
from aqueduct.v1 import team_service_pb2_grpc

from core.auth.principal import current_principal
from core.services._tenancy_messages import member_message, team_message, update_paths
from core.tenancy import TeamMembers, Teams, validation
from core.tenancy.names import TeamName, member_name, optional_org, org_name, team_name, user_name

Context = grpc.aio.ServicerContext[Any, Any]
_MEMBER_MUTABLE = ("team_admin",)


class TeamServicer(team_service_pb2_grpc.TeamServiceServicer):
    def __init__(self, teams: Teams, members: TeamMembers) -> None:
        self._teams = teams
        self._members = members

    async def GetTeam(self, request: pb.GetTeamRequest, context: Context) -> pb.GetTeamResponse:
        return pb.GetTeamResponse(
            team=team_message(await self._teams.get(current_principal(), team_name(request.name)))
        )

    async def ListTeams(self, request: pb.ListTeamsRequest, context: Context) -> pb.ListTeamsResponse:
        org = optional_org(request.parent, "parent")
        page = await self._teams.list(current_principal(), org, request.page_size, request.page_token)
        return pb.ListTeamsResponse(teams=[team_message(t) for t in page.items], next_page_token=page.next_page_token)

    async def CreateTeam(self, request: pb.CreateTeamRequest, context: Context) -> pb.CreateTeamResponse:
        org = org_name(request.parent, "parent")
        name = TeamName(org.org, validation.name(request.team_id, "team_id"))
        return pb.CreateTeamResponse(team=team_message(await self._teams.create(current_principal(), name)))

    async def DeleteTeam(self, request: pb.DeleteTeamRequest, context: Context) -> pb.DeleteTeamResponse:
        await self._teams.delete(current_principal(), team_name(request.name))
        return pb.DeleteTeamResponse()

    async def GetTeamMember(self, request: pb.GetTeamMemberRequest, context: Context) -> pb.GetTeamMemberResponse:
        member = await self._members.get(current_principal(), member_name(request.name))
        return pb.GetTeamMemberResponse(team_member=member_message(member))

    async def ListTeamMembers(self, request: pb.ListTeamMembersRequest, context: Context) -> pb.ListTeamMembersResponse:
        team = team_name(request.parent, "parent")
        page = await self._members.list(current_principal(), team, request.page_size, request.page_token)
        return pb.ListTeamMembersResponse(
            team_members=[member_message(m) for m in page.items], next_page_token=page.next_page_token
        )

    async def CreateTeamMember(
        self, request: pb.CreateTeamMemberRequest, context: Context
    ) -> pb.CreateTeamMemberResponse:
        team = team_name(request.parent, "parent")
        user = user_name(request.team_member.user, "team_member.user")
        member = await self._members.create(current_principal(), team, user, request.team_member.team_admin)
        return pb.CreateTeamMemberResponse(team_member=member_message(member))

    async def UpdateTeamMember(
        self, request: pb.UpdateTeamMemberRequest, context: Context
    ) -> pb.UpdateTeamMemberResponse:
        name = member_name(request.team_member.name, "team_member.name")
        # team_admin is the only mutable field, and false is a value to set: an empty mask means it too.
        update_paths(request.update_mask, request.team_member, _MEMBER_MUTABLE)
        member = await self._members.set_admin(
            current_principal(), name, request.team_member.team_admin, allow_missing=request.allow_missing
        )
        return pb.UpdateTeamMemberResponse(team_member=member_message(member))

    async def DeleteTeamMember(
        self, request: pb.DeleteTeamMemberRequest, context: Context
    ) -> pb.DeleteTeamMemberResponse:
        await self._members.delete(current_principal(), member_name(request.name))
        return pb.DeleteTeamMemberResponse()
