"""Verbs run against fake tenancy stubs: requests sent (resource names, masks), paging followed, what reaches
stdout."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from aqueduct.v1 import (
    org_pb2,
    org_service_pb2,
    service_account_service_pb2,
    team_pb2,
    team_service_pb2,
    token_pb2,
    token_service_pb2,
    user_pb2,
    user_service_pb2,
)
from aqueduct_client.cli._command import LIST_PAGE_SIZE
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
    created = token_service_pb2.CreateTokenResponse(token=token_pb2.Token(name="tokens/0a1"), secret="sk-abc")
    fake_admin.will_return("CreateToken", created)
    assert run(fake_admin, "token", "create", "--user", "a@x.io", "--name", "ci", "--expires-at", "2027-01-31") == 0
    assert capsys.readouterr().out == "sk-abc\n"
    request = fake_admin.requests["CreateToken"][0].token
    assert (request.user, request.display_name) == ("users/a@x.io", "ci")
    assert request.expire_time.ToDatetime(tzinfo=UTC) == datetime(2027, 1, 31, tzinfo=UTC)


def test_token_create_without_expiry_or_user_leaves_them_unset(fake_admin: FakeAdmin) -> None:
    fake_admin.will_return("CreateToken", token_service_pb2.CreateTokenResponse(secret="sk-x"))
    run(fake_admin, "token", "create", "--name", "mine")
    request = fake_admin.requests["CreateToken"][0].token
    assert not request.HasField("expire_time") and request.user == ""


def test_regenerate_and_service_account_print_only_the_secret(
    fake_admin: FakeAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_admin.will_return("RegenerateToken", token_service_pb2.RegenerateTokenResponse(secret="sk-new"))
    fake_admin.will_return(
        "CreateServiceAccount", service_account_service_pb2.CreateServiceAccountResponse(secret="sk-bot")
    )
    run(fake_admin, "token", "regenerate", "0a1")
    run(fake_admin, "service-account", "create", "bot", "--team", "ml", "--org", "acme", "--owner", "a@x.io")
    assert capsys.readouterr().out == "sk-new\nsk-bot\n"
    assert fake_admin.requests["RegenerateToken"][0].name == "tokens/0a1"
    request = fake_admin.requests["CreateServiceAccount"][0]
    assert (request.parent, request.service_account_id, request.service_account.owner) == (
        "orgs/acme/teams/ml",
        "bot",
        "users/a@x.io",
    )


def test_list_follows_next_page_token(fake_admin: FakeAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    fake_admin.will_return(
        "ListOrgs",
        org_service_pb2.ListOrgsResponse(orgs=[org_pb2.Org(uid="1", name="orgs/a")], next_page_token="p2"),
        org_service_pb2.ListOrgsResponse(orgs=[org_pb2.Org(uid="2", name="orgs/b")], next_page_token="p3"),
        org_service_pb2.ListOrgsResponse(orgs=[org_pb2.Org(uid="3", name="orgs/c")]),
    )
    run(fake_admin, "org", "list", "--json")
    assert json.loads(capsys.readouterr().out) == [
        {"id": str(i), "name": n, "create_time": None} for i, n in ((1, "a"), (2, "b"), (3, "c"))
    ]
    assert [r.page_token for r in fake_admin.requests["ListOrgs"]] == ["", "p2", "p3"]
    assert {r.page_size for r in fake_admin.requests["ListOrgs"]} == {LIST_PAGE_SIZE}


def test_a_repeated_page_token_stops_with_an_error(fake_admin: FakeAdmin) -> None:
    fake_admin.will_return(
        "ListUsers",
        user_service_pb2.ListUsersResponse(next_page_token="again"),
        user_service_pb2.ListUsersResponse(next_page_token="again"),
    )
    with pytest.raises(CliError, match="repeated a page token"):
        run(fake_admin, "user", "list")


_EMPTY_PAGES: dict[str, Any] = {
    "ListUsers": user_service_pb2.ListUsersResponse(),
    "ListTeams": team_service_pb2.ListTeamsResponse(),
    "ListTokens": token_service_pb2.ListTokensResponse(),
    "ListServiceAccounts": service_account_service_pb2.ListServiceAccountsResponse(),
    "ListTeamMembers": team_service_pb2.ListTeamMembersResponse(),
}


@pytest.mark.parametrize(
    ("argv", "method", "field", "expected"),
    [
        (["user", "list", "--org", "acme"], "ListUsers", "org", "orgs/acme"),
        (["user", "list"], "ListUsers", "org", ""),
        (["team", "list", "--org", "acme"], "ListTeams", "parent", "orgs/acme"),
        (["team", "list"], "ListTeams", "parent", "orgs/-"),
        (["token", "list", "--user", "a@x.io"], "ListTokens", "user", "users/a@x.io"),
        (["sa", "list", "--team", "ml", "--org", "acme"], "ListServiceAccounts", "parent", "orgs/acme/teams/ml"),
        (["sa", "list", "--org", "acme"], "ListServiceAccounts", "parent", "orgs/acme/teams/-"),
        (["sa", "list"], "ListServiceAccounts", "parent", "orgs/-/teams/-"),
        (["team", "members", "ml", "--org", "acme"], "ListTeamMembers", "parent", "orgs/acme/teams/ml"),
    ],
)
def test_filters_become_resource_names(
    fake_admin: FakeAdmin, argv: list[str], method: str, field: str, expected: str
) -> None:
    fake_admin.will_return(method, _EMPTY_PAGES[method])
    run(fake_admin, *argv)
    assert getattr(fake_admin.requests[method][0], field) == expected


def test_service_account_list_team_needs_org(fake_admin: FakeAdmin) -> None:
    with pytest.raises(CliError, match="--team needs --org") as raised:
        run(fake_admin, "sa", "list", "--team", "ml")
    assert raised.value.exit_code == 2


def test_add_member_is_one_upsert_and_user_create_sends_the_role(
    fake_admin: FakeAdmin, capsys: pytest.CaptureFixture[str]
) -> None:
    member = team_pb2.TeamMember(name="orgs/acme/teams/ml/members/a@x.io", user="users/a@x.io", team_admin=True)
    fake_admin.will_return("UpdateTeamMember", team_service_pb2.UpdateTeamMemberResponse(team_member=member))
    user = user_pb2.User(name="users/b@x.io", org="orgs/acme", role=user_pb2.ROLE_ADMIN, uid="u1")
    fake_admin.will_return("CreateUser", user_service_pb2.CreateUserResponse(user=user))
    run(fake_admin, "team", "add-member", "ml", "--org", "acme", "--user", "a@x.io", "--admin")
    run(fake_admin, "user", "create", "b@x.io", "--org", "acme", "--role", "admin")
    update = fake_admin.requests["UpdateTeamMember"][0]
    assert update.team_member.name == "orgs/acme/teams/ml/members/a@x.io" and update.team_member.team_admin
    assert (list(update.update_mask.paths), update.allow_missing) == (["team_admin"], True)
    create = fake_admin.requests["CreateUser"][0]
    assert (create.user_id, create.user.org, create.user.role) == ("b@x.io", "orgs/acme", user_pb2.ROLE_ADMIN)
    assert capsys.readouterr().out.splitlines() == [
        "a@x.io is a team admin of team ml in org acme",
        "created user b@x.io in org acme with role admin (id u1)",
    ]


def test_update_verbs_send_a_field_mask(fake_admin: FakeAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    fake_admin.will_return(
        "UpdateUser",
        user_service_pb2.UpdateUserResponse(user=user_pb2.User(name="users/a@x.io", role=user_pb2.ROLE_ORG_ADMIN)),
    )
    fake_admin.will_return(
        "UpdateToken",
        token_service_pb2.UpdateTokenResponse(token=token_pb2.Token(name="tokens/0a1", display_name="ci2")),
    )
    run(fake_admin, "user", "update", "a@x.io", "--role", "org-admin")
    run(fake_admin, "token", "update", "0a1", "--name", "ci2", "--never-expires")
    user = fake_admin.requests["UpdateUser"][0]
    assert (user.user.name, user.user.role, list(user.update_mask.paths)) == (
        "users/a@x.io",
        user_pb2.ROLE_ORG_ADMIN,
        ["role"],
    )
    token = fake_admin.requests["UpdateToken"][0]
    assert list(token.update_mask.paths) == ["display_name", "expire_time"]
    assert not token.token.HasField("expire_time")
    assert capsys.readouterr().out.splitlines() == [
        "user a@x.io now has role org-admin",
        "updated token 0a1 (ci2), expires never",
    ]
    with pytest.raises(CliError, match="nothing to change") as raised:
        run(fake_admin, "token", "update", "0a1")
    assert raised.value.exit_code == 2


def test_get_prints_one_object(fake_admin: FakeAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    team = team_pb2.Team(name="orgs/acme/teams/ml", uid="t1")
    fake_admin.will_return("GetTeam", team_service_pb2.GetTeamResponse(team=team))
    run(fake_admin, "team", "get", "ml", "--org", "acme", "--json")
    assert json.loads(capsys.readouterr().out) == {"id": "t1", "name": "ml", "org": "acme", "create_time": None}
    assert fake_admin.requests["GetTeam"][0].name == "orgs/acme/teams/ml"


def test_human_list_is_a_table(fake_admin: FakeAdmin, capsys: pytest.CaptureFixture[str]) -> None:
    token = token_pb2.Token(name="tokens/0a1", display_name="ci", preview="sk-a...z", user="users/a@x.io")
    fake_admin.will_return("ListTokens", token_service_pb2.ListTokensResponse(tokens=[token]))
    run(fake_admin, "token", "list")
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["ID", "NAME", "PREVIEW", "USER_EMAIL"]
    assert row.split()[:4] == ["0a1", "ci", "sk-a...z", "a@x.io"]


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
