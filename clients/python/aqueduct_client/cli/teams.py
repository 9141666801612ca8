"""`aqueduct team create|list|get|delete|add-member|remove-member|members`."""

from __future__ import annotations

import argparse
import sys

from aqueduct.v1 import team_pb2, team_service_pb2
from google.protobuf.field_mask_pb2 import FieldMask

from aqueduct_client import names
from aqueduct_client.cli._command import Noun, Verb, arg, list_all
from aqueduct_client.cli._connection import Admin
from aqueduct_client.cli._output import print_one, print_rows
from aqueduct_client.cli._resources import TEAM_COLUMNS, TEAM_MEMBER_COLUMNS, team_member_row, team_row


def _team(args: argparse.Namespace) -> str:
    return names.team(args.org, args.name)


def _create(args: argparse.Namespace, admin: Admin) -> int:
    request = team_service_pb2.CreateTeamRequest(parent=names.org(args.org), team_id=args.name, team=team_pb2.Team())
    team = admin.teams.CreateTeam(request).team
    org, name = names.segment(team.name, "orgs"), names.segment(team.name, "teams")
    print(f"created team {name} in org {org} (id {team.uid})")
    return 0


def _list(args: argparse.Namespace, admin: Admin) -> int:
    parent = names.org(args.org or names.ANY)
    teams = list_all(admin.teams.ListTeams, team_service_pb2.ListTeamsRequest(parent=parent), "teams")
    print_rows([team_row(team) for team in teams], TEAM_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _get(args: argparse.Namespace, admin: Admin) -> int:
    team = admin.teams.GetTeam(team_service_pb2.GetTeamRequest(name=_team(args))).team
    print_one(team_row(team), TEAM_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _delete(args: argparse.Namespace, admin: Admin) -> int:
    admin.teams.DeleteTeam(team_service_pb2.DeleteTeamRequest(name=_team(args)))
    print(f"deleted team {args.name} in org {args.org}")
    return 0


def _add_member(args: argparse.Namespace, admin: Admin) -> int:
    # One call adds the user or changes the admin flag of an existing member (AIP-134 allow_missing).
    member = team_pb2.TeamMember(name=names.member(args.org, args.name, args.user), team_admin=args.admin)
    request = team_service_pb2.UpdateTeamMemberRequest(
        team_member=member, update_mask=FieldMask(paths=["team_admin"]), allow_missing=True
    )
    stored = admin.teams.UpdateTeamMember(request).team_member
    row = team_member_row(stored)
    role = "team admin" if stored.team_admin else "member"
    print(f"{row['email']} is a {role} of team {row['team']} in org {row['org']}")
    return 0


def _remove_member(args: argparse.Namespace, admin: Admin) -> int:
    name = names.member(args.org, args.name, args.user)
    admin.teams.DeleteTeamMember(team_service_pb2.DeleteTeamMemberRequest(name=name))
    print(f"removed {args.user} from team {args.name} in org {args.org}")
    return 0


def _members(args: argparse.Namespace, admin: Admin) -> int:
    request = team_service_pb2.ListTeamMembersRequest(parent=_team(args))
    members = list_all(admin.teams.ListTeamMembers, request, "team_members")
    print_rows([team_member_row(m) for m in members], TEAM_MEMBER_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


_TEAM = (arg("name", metavar="NAME", help="the team's name"), arg("--org", required=True, help="the team's org"))
_USER = arg("--user", required=True, metavar="EMAIL", help="the user's email")

NOUN = Noun(
    "team",
    "manage teams and their members",
    (
        Verb("create", "create a team in an org", _create, _TEAM),
        Verb("list", "list teams", _list, (arg("--org", default="", help="only this org's teams"),), json=True),
        Verb("get", "show one team", _get, _TEAM, json=True),
        Verb("delete", "delete a team, its memberships and its service accounts", _delete, _TEAM),
        Verb(
            "add-member",
            "add a user to a team (or change their admin flag)",
            _add_member,
            (*_TEAM, _USER, arg("--admin", action="store_true", help="make the user a team admin")),
        ),
        Verb("remove-member", "remove a user from a team", _remove_member, (*_TEAM, _USER)),
        Verb("members", "list a team's members", _members, _TEAM, json=True),
    ),
)
register = NOUN.register
