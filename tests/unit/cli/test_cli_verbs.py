"""Verbs run against a fake AdminService stub: requests sent, paging followed, what reaches stdout."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from aqueduct.v1 import admin_service_pb2 as pb
from aqueduct.v1 import tenancy_pb2
from aqueduct_client.cli._errors import CliError, describe_rpc_error, describe_status
from aqueduct_client.cli.main import build_parser
from grpc import aio

ADDRESS = "127.0.0.1:50051"
# The fake_admin fixture (conftest.FakeAdmin).
FakeAdmin = Any


def run(fake: FakeAdmin, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    status: int = args.admin_handler(args, fake)
    return status


def test_token_create_prints_only_the_secret(fake_admin: FakeAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    fake_admin.will_return("CreateToken", pb.CreateTokenResponse(token=tenancy_pb2.Token(id="tok_1"), secret="sk-abc"))
    assert run(fake_admin, "token", "create", "--user", "a@x.io", "--name", "ci", "--expires-at", "2027-01-31") == 0
    assert capsys.readouterr().out == "sk-abc\n"
    request = fake_admin.requests["CreateToken"][0]
    assert (request.user_email, request.name) == ("a@x.io", "ci")
    assert request.expire_time.ToDatetime(tzinfo=UTC) == datetime(2027, 1, 31, tzinfo=UTC)


def test_token_create_without_expiry_leaves_it_unset(fake_admin: FakeAdmin) -> None:
    fake_admin.will_return("CreateToken", pb.CreateTokenResponse(secret="sk-x"))
    run(fake_admin, "token", "create", "--name", "mine")
    assert not fake_admin.requests["CreateToken"][0].HasField("expire_time")


def test_regenerate_and_service_account_print_only_the_secret(
    fake_admin: FakeAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_admin.will_return("RegenerateToken", pb.RegenerateTokenResponse(secret="sk-new"))
    fake_admin.will_return("CreateServiceAccount", pb.CreateServiceAccountResponse(secret="sk-bot"))
    run(fake_admin, "token", "regenerate", "tok_1")
    run(fake_admin, "service-account", "create", "bot", "--team", "ml", "--org", "acme", "--owner", "a@x.io")
    assert capsys.readouterr().out == "sk-new\nsk-bot\n"
    request = fake_admin.requests["CreateServiceAccount"][0]
    assert (request.name, request.team, request.org, request.owner_email) == ("bot", "ml", "acme", "a@x.io")


def test_list_follows_next_page_token(fake_admin: FakeAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    fake_admin.will_return(
        "ListOrgs",
        pb.ListOrgsResponse(orgs=[tenancy_pb2.Org(id="1", name="a")], next_page_token="p2"),
        pb.ListOrgsResponse(orgs=[tenancy_pb2.Org(id="2", name="b")], next_page_token="p3"),
        pb.ListOrgsResponse(orgs=[tenancy_pb2.Org(id="3", name="c")]),
    )
    run(fake_admin, "org", "list", "--json")
    assert [o["name"] for o in json.loads(capsys.readouterr().out)] == ["a", "b", "c"]
    assert [r.page_token for r in fake_admin.requests["ListOrgs"]] == ["", "p2", "p3"]


def test_a_repeated_page_token_stops_with_an_error(fake_admin: FakeAdmin) -> None:
    fake_admin.will_return(
        "ListUsers",
        pb.ListUsersResponse(next_page_token="again"),
        pb.ListUsersResponse(next_page_token="again"),
    )
    with pytest.raises(CliError, match="repeated a page token"):
        run(fake_admin, "user", "list")


def test_filters_reach_the_request(fake_admin: FakeAdmin) -> None:
    fake_admin.will_return("ListUsers", pb.ListUsersResponse())
    fake_admin.will_return("ListTeams", pb.ListTeamsResponse())
    fake_admin.will_return("ListTokens", pb.ListTokensResponse())
    fake_admin.will_return("ListServiceAccounts", pb.ListServiceAccountsResponse())
    fake_admin.will_return("ListTeamMembers", pb.ListTeamMembersResponse())
    run(fake_admin, "user", "list", "--org", "acme")
    run(fake_admin, "team", "list", "--org", "acme")
    run(fake_admin, "token", "list", "--user", "a@x.io")
    run(fake_admin, "sa", "list", "--team", "ml", "--org", "acme")
    run(fake_admin, "team", "members", "ml", "--org", "acme")
    assert fake_admin.requests["ListUsers"][0].org == "acme"
    assert fake_admin.requests["ListTeams"][0].org == "acme"
    assert fake_admin.requests["ListTokens"][0].user_email == "a@x.io"
    assert (fake_admin.requests["ListServiceAccounts"][0].team, fake_admin.requests["ListServiceAccounts"][0].org) == (
        "ml",
        "acme",
    )
    assert fake_admin.requests["ListTeamMembers"][0].team == "ml"


def test_service_account_list_team_needs_org(fake_admin: FakeAdmin) -> None:
    with pytest.raises(CliError, match="--team needs --org") as raised:
        run(fake_admin, "sa", "list", "--team", "ml")
    assert raised.value.exit_code == 2


def test_team_membership_and_user_role(fake_admin: FakeAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    fake_admin.will_return(
        "AddTeamMember",
        pb.AddTeamMemberResponse(member=tenancy_pb2.TeamMember(team="ml", org="acme", email="a@x.io", team_admin=True)),
    )
    fake_admin.will_return("CreateUser", pb.CreateUserResponse(user=tenancy_pb2.User(email="b@x.io")))
    run(fake_admin, "team", "add-member", "ml", "--org", "acme", "--user", "a@x.io", "--admin")
    run(fake_admin, "user", "create", "b@x.io", "--org", "acme", "--role", "admin")
    assert fake_admin.requests["AddTeamMember"][0].team_admin is True
    assert fake_admin.requests["CreateUser"][0].role == tenancy_pb2.ROLE_ADMIN
    assert "team admin" in capsys.readouterr().out


def test_human_list_is_a_table(fake_admin: FakeAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    fake_admin.will_return(
        "ListTokens",
        pb.ListTokensResponse(
            tokens=[tenancy_pb2.Token(id="tok_1", name="ci", preview="sk-a...z", user_email="a@x.io")]
        ),
    )
    run(fake_admin, "token", "list")
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["ID", "NAME", "PREVIEW", "USER_EMAIL"]
    assert row.split()[:4] == ["tok_1", "ci", "sk-a...z", "a@x.io"]


@pytest.mark.parametrize(
    ("code", "details", "expected"),
    [
        (
            grpc.StatusCode.PERMISSION_DENIED,
            "only admins may create orgs",
            "permission denied: only admins may create orgs",
        ),
        (grpc.StatusCode.PERMISSION_DENIED, "Permission denied: nope", "Permission denied: nope"),
        (grpc.StatusCode.NOT_FOUND, "org acme", "not found: org acme"),
        (grpc.StatusCode.ALREADY_EXISTS, "org acme", "already exists: org acme"),
        (grpc.StatusCode.INTERNAL, "boom", "boom"),
        (grpc.StatusCode.INTERNAL, "", "request failed with status INTERNAL"),
    ],
)
def test_status_descriptions(code: grpc.StatusCode, details: str, expected: str) -> None:
    assert describe_status(code, details, ADDRESS, 30) == expected


def test_unauthenticated_and_unreachable_name_the_fix() -> None:
    assert "AQUEDUCT_ADMIN_TOKEN" in describe_status(grpc.StatusCode.UNAUTHENTICATED, "bad token", ADDRESS, 30)
    unreachable = describe_status(grpc.StatusCode.UNAVAILABLE, "connection refused", ADDRESS, 30)
    assert ADDRESS in unreachable
    assert "cannot reach" in unreachable
    assert "10 seconds" in describe_status(grpc.StatusCode.DEADLINE_EXCEEDED, "", ADDRESS, 10)


def test_describe_rpc_error_reads_asyncio_errors() -> None:
    error = aio.AioRpcError(grpc.StatusCode.NOT_FOUND, aio.Metadata(), aio.Metadata(), details="user x")
    assert describe_rpc_error(error, ADDRESS, 30) == "not found: user x"
