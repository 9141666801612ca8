"""`aqueduct service-account create|list|get|update|delete`. Creating one prints its token's secret alone on
stdout."""

from __future__ import annotations

import argparse
import sys

from aqueduct.v1 import service_account_pb2, service_account_service_pb2
from google.protobuf.field_mask_pb2 import FieldMask

from aqueduct_client import names
from aqueduct_client.cli._command import Noun, Verb, arg, list_all
from aqueduct_client.cli._connection import Admin
from aqueduct_client.cli._errors import EXIT_USAGE, CliError
from aqueduct_client.cli._output import print_one, print_rows
from aqueduct_client.cli._resources import SERVICE_ACCOUNT_COLUMNS, service_account_row


def _name(args: argparse.Namespace) -> str:
    return names.service_account(args.org, args.team, args.name)


def _create(args: argparse.Namespace, admin: Admin) -> int:
    request = service_account_service_pb2.CreateServiceAccountRequest(
        parent=names.team(args.org, args.team),
        service_account_id=args.name,
        service_account=service_account_pb2.ServiceAccount(owner=names.user(args.owner)),
    )
    response = admin.service_accounts.CreateServiceAccount(request)
    print(response.secret)
    if sys.stderr.isatty():
        row = service_account_row(response.service_account)
        print(
            f"service account {row['name']} of team {row['team']} (token {row['token_id']}); "
            "the secret is not shown again",
            file=sys.stderr,
        )
    return 0


def _list(args: argparse.Namespace, admin: Admin) -> int:
    if args.team and not args.org:
        raise CliError("--team needs --org (team names are unique only inside an org)", EXIT_USAGE)
    parent = names.team(args.org or names.ANY, args.team or names.ANY)
    request = service_account_service_pb2.ListServiceAccountsRequest(parent=parent)
    accounts = list_all(admin.service_accounts.ListServiceAccounts, request, "service_accounts")
    rows = [service_account_row(account) for account in accounts]
    print_rows(rows, SERVICE_ACCOUNT_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _get(args: argparse.Namespace, admin: Admin) -> int:
    request = service_account_service_pb2.GetServiceAccountRequest(name=_name(args))
    account = admin.service_accounts.GetServiceAccount(request).service_account
    print_one(service_account_row(account), SERVICE_ACCOUNT_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _update(args: argparse.Namespace, admin: Admin) -> int:
    account = service_account_pb2.ServiceAccount(name=_name(args), owner=names.user(args.owner))
    request = service_account_service_pb2.UpdateServiceAccountRequest(
        service_account=account, update_mask=FieldMask(paths=["owner"])
    )
    row = service_account_row(admin.service_accounts.UpdateServiceAccount(request).service_account)
    print(f"service account {row['name']} of team {row['team']} in org {row['org']} is owned by {row['owner_email']}")
    return 0


def _delete(args: argparse.Namespace, admin: Admin) -> int:
    request = service_account_service_pb2.DeleteServiceAccountRequest(name=_name(args))
    admin.service_accounts.DeleteServiceAccount(request)
    print(f"deleted service account {args.name} of team {args.team} in org {args.org}")
    return 0


_ACCOUNT = (
    arg("name", metavar="NAME", help="the service account's name"),
    arg("--team", required=True, help="the owning team"),
    arg("--org", required=True, help="the team's org"),
)

NOUN = Noun(
    "service-account",
    "manage teams' service accounts",
    (
        Verb(
            "create",
            "create a service account and print its token's secret",
            _create,
            (*_ACCOUNT, arg("--owner", required=True, metavar="EMAIL", help="the owning user's email")),
        ),
        Verb(
            "list",
            "list service accounts",
            _list,
            (
                arg("--team", default="", help="only this team's accounts (needs --org)"),
                arg("--org", default="", help="only this org's accounts"),
            ),
            json=True,
        ),
        Verb("get", "show one service account", _get, _ACCOUNT, json=True),
        Verb(
            "update",
            "hand a service account to another owner",
            _update,
            (*_ACCOUNT, arg("--owner", required=True, metavar="EMAIL", help="the new owner's email")),
        ),
        Verb("delete", "delete a service account and its token", _delete, _ACCOUNT),
    ),
    aliases=("sa",),
)
register = NOUN.register
