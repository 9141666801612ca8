"""`aqueduct user create|list|delete`."""

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
from aqueduct_client.cli._resources import ROLE_NAMES, USER_COLUMNS, role_word, user_row


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "user", "manage users")

    create = add_verb(verbs, "create", "create a user in an org", _create)
    create.add_argument("email", metavar="EMAIL")
    create.add_argument("--org", required=True, help="the user's org")
    create.add_argument("--role", choices=list(ROLE_NAMES), default="user", help="gateway-wide role (default user)")

    listing = add_verb(verbs, "list", "list users", _list)
    listing.add_argument("--org", default="", help="only this org's users")
    add_json_flag(listing)

    delete = add_verb(verbs, "delete", "delete a user and revoke their tokens", _delete)
    delete.add_argument("email", metavar="EMAIL")


def _create(args: argparse.Namespace, admin: AdminStub) -> int:
    request = admin_service_pb2.CreateUserRequest(email=args.email, org=args.org, role=ROLE_NAMES[args.role])
    user = admin.CreateUser(request).user
    print(f"created user {user.email} in org {user.org} with role {role_word(user.role)} (id {user.id})")
    return 0


def _list(args: argparse.Namespace, admin: AdminStub) -> int:
    pages = all_pages(
        lambda token: admin.ListUsers(
            admin_service_pb2.ListUsersRequest(org=args.org, page_size=LIST_PAGE_SIZE, page_token=token)
        )
    )
    rows = [user_row(user) for page in pages for user in page.users]
    print_rows(rows, USER_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _delete(args: argparse.Namespace, admin: AdminStub) -> int:
    admin.DeleteUser(admin_service_pb2.DeleteUserRequest(email=args.email))
    print(f"deleted user {args.email}")
    return 0
