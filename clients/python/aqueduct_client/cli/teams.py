"""`aqueduct team create|list|delete|add-member|remove-member|members`."""

from __future__ import annotations

import argparse
import sys

from aqueduct.v1 import admin_service_pb2

from aqueduct_client.cli._command import (
    LIST_PAGE_SIZE,
    AdminStub,
    SubParsers,
    add_json_flag,
    add_noun,
    add_verb,
    all_pages,
)
from aqueduct_client.cli._output import print_rows
from aqueduct_client.cli._resources import TEAM_COLUMNS, TEAM_MEMBER_COLUMNS, team_member_row, team_row


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "team", "manage teams and their members")

    create = add_verb(verbs, "create", "create a team in an org", _create)
    _team_arguments(create)

    listing = add_verb(verbs, "list", "list teams", _list)
    listing.add_argument("--org", default="", help="only this org's teams")
    add_json_flag(listing)

    delete = add_verb(verbs, "delete", "delete a team, its memberships and its service accounts", _delete)
    _team_arguments(delete)

    add_member = add_verb(verbs, "add-member", "add a user to a team (or change their admin flag)", _add_member)
    _team_arguments(add_member)
    add_member.add_argument("--user", required=True, metavar="EMAIL", help="the user's email")
    add_member.add_argument("--admin", action="store_true", help="make the user a team admin")

    remove_member = add_verb(verbs, "remove-member", "remove a user from a team", _remove_member)
    _team_arguments(remove_member)
    remove_member.add_argument("--user", required=True, metavar="EMAIL", help="the user's email")

    members = add_verb(verbs, "members", "list a team's members", _members)
    _team_arguments(members)
    add_json_flag(members)


def _team_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the team's name")
    parser.add_argument("--org", required=True, help="the team's org")


def _create(args: argparse.Namespace, admin: AdminStub) -> int:
    team = admin.CreateTeam(admin_service_pb2.CreateTeamRequest(name=args.name, org=args.org)).team
    print(f"created team {team.name} in org {team.org} (id {team.id})")
    return 0


def _list(args: argparse.Namespace, admin: AdminStub) -> int:
    pages = all_pages(
        lambda token: admin.ListTeams(
            admin_service_pb2.ListTeamsRequest(org=args.org, page_size=LIST_PAGE_SIZE, page_token=token)
        )
    )
    rows = [team_row(team) for page in pages for team in page.teams]
    print_rows(rows, TEAM_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _delete(args: argparse.Namespace, admin: AdminStub) -> int:
    admin.DeleteTeam(admin_service_pb2.DeleteTeamRequest(name=args.name, org=args.org))
    print(f"deleted team {args.name} in org {args.org}")
    return 0


def _add_member(args: argparse.Namespace, admin: AdminStub) -> int:
    request = admin_service_pb2.AddTeamMemberRequest(
        team=args.name, org=args.org, email=args.user, team_admin=args.admin
    )
    member = admin.AddTeamMember(request).member
    role = "team admin" if member.team_admin else "member"
    print(f"{member.email} is a {role} of team {member.team} in org {member.org}")
    return 0


def _remove_member(args: argparse.Namespace, admin: AdminStub) -> int:
    request = admin_service_pb2.RemoveTeamMemberRequest(team=args.name, org=args.org, email=args.user)
    admin.RemoveTeamMember(request)
    print(f"removed {args.user} from team {args.name} in org {args.org}")
    return 0


def _members(args: argparse.Namespace, admin: AdminStub) -> int:
    pages = all_pages(
        lambda token: admin.ListTeamMembers(
            admin_service_pb2.ListTeamMembersRequest(
                team=args.name, org=args.org, page_size=LIST_PAGE_SIZE, page_token=token
            )
        )
    )
    rows = [team_member_row(member) for page in pages for member in page.members]
    print_rows(rows, TEAM_MEMBER_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0
