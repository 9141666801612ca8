"""`aqueduct service-account create|list|delete`. Creating one prints its token's secret alone on stdout."""

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
from aqueduct_client.cli._errors import EXIT_USAGE, CliError
from aqueduct_client.cli._output import print_rows
from aqueduct_client.cli._resources import SERVICE_ACCOUNT_COLUMNS, service_account_row


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "service-account", "manage teams' service accounts", aliases=["sa"])

    create = add_verb(verbs, "create", "create a service account and print its token's secret", _create)
    _account_arguments(create)
    create.add_argument("--owner", required=True, metavar="EMAIL", help="the owning user's email")

    listing = add_verb(verbs, "list", "list service accounts", _list)
    listing.add_argument("--team", default="", help="only this team's accounts (needs --org)")
    listing.add_argument("--org", default="", help="only this org's accounts")
    add_json_flag(listing)

    delete = add_verb(verbs, "delete", "delete a service account and its token", _delete)
    _account_arguments(delete)


def _account_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the service account's name")
    parser.add_argument("--team", required=True, help="the owning team")
    parser.add_argument("--org", required=True, help="the team's org")


def _create(args: argparse.Namespace, admin: AdminStub) -> int:
    request = admin_service_pb2.CreateServiceAccountRequest(
        name=args.name, team=args.team, org=args.org, owner_email=args.owner
    )
    response = admin.CreateServiceAccount(request)
    print(response.secret)
    if sys.stderr.isatty():
        account = response.service_account
        print(
            f"service account {account.name} of team {account.team} (token {account.token_id}); "
            "the secret is not shown again",
            file=sys.stderr,
        )
    return 0


def _list(args: argparse.Namespace, admin: AdminStub) -> int:
    if args.team and not args.org:
        raise CliError("--team needs --org (team names are unique only inside an org)", EXIT_USAGE)
    pages = all_pages(
        lambda token: admin.ListServiceAccounts(
            admin_service_pb2.ListServiceAccountsRequest(
                team=args.team, org=args.org, page_size=LIST_PAGE_SIZE, page_token=token
            )
        )
    )
    rows = [service_account_row(account) for page in pages for account in page.service_accounts]
    print_rows(rows, SERVICE_ACCOUNT_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _delete(args: argparse.Namespace, admin: AdminStub) -> int:
    request = admin_service_pb2.DeleteServiceAccountRequest(name=args.name, team=args.team, org=args.org)
    admin.DeleteServiceAccount(request)
    print(f"deleted service account {args.name} of team {args.team} in org {args.org}")
    return 0
