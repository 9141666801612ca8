"""`aqueduct user create|list|get|update|delete`."""

from __future__ import annotations

import argparse
import sys

from aqueduct.v1 import user_pb2, user_service_pb2
from google.protobuf.field_mask_pb2 import FieldMask

from aqueduct_client import names
from aqueduct_client.cli._command import Noun, Verb, arg, list_all
from aqueduct_client.cli._connection import Admin
from aqueduct_client.cli._output import print_one, print_rows
from aqueduct_client.cli._resources import ROLE_NAMES, USER_COLUMNS, role_word, user_row


def _create(args: argparse.Namespace, admin: Admin) -> int:
    user = user_pb2.User(org=names.org(args.org), role=ROLE_NAMES[args.role])
    created = admin.users.CreateUser(user_service_pb2.CreateUserRequest(user_id=args.email, user=user)).user
    email, org = names.segment(created.name, "users"), names.segment(created.org, "orgs")
    print(f"created user {email} in org {org} with role {role_word(created.role)} (id {created.uid})")
    return 0


def _list(args: argparse.Namespace, admin: Admin) -> int:
    request = user_service_pb2.ListUsersRequest(org=names.org(args.org) if args.org else "")
    users = list_all(admin.users.ListUsers, request, "users")
    print_rows([user_row(user) for user in users], USER_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _get(args: argparse.Namespace, admin: Admin) -> int:
    user = admin.users.GetUser(user_service_pb2.GetUserRequest(name=names.user(args.email))).user
    print_one(user_row(user), USER_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _update(args: argparse.Namespace, admin: Admin) -> int:
    user = user_pb2.User(name=names.user(args.email), role=ROLE_NAMES[args.role])
    request = user_service_pb2.UpdateUserRequest(user=user, update_mask=FieldMask(paths=["role"]))
    updated = admin.users.UpdateUser(request).user
    print(f"user {names.segment(updated.name, 'users')} now has role {role_word(updated.role)}")
    return 0


def _delete(args: argparse.Namespace, admin: Admin) -> int:
    admin.users.DeleteUser(user_service_pb2.DeleteUserRequest(name=names.user(args.email)))
    print(f"deleted user {args.email}")
    return 0


_EMAIL = arg("email", metavar="EMAIL")

NOUN = Noun(
    "user",
    "manage users",
    (
        Verb(
            "create",
            "create a user in an org",
            _create,
            (
                _EMAIL,
                arg("--org", required=True, help="the user's org"),
                arg("--role", choices=list(ROLE_NAMES), default="user", help="gateway-wide role (default user)"),
            ),
        ),
        Verb("list", "list users", _list, (arg("--org", default="", help="only this org's users"),), json=True),
        Verb("get", "show one user", _get, (_EMAIL,), json=True),
        Verb(
            "update",
            "change a user's role",
            _update,
            (_EMAIL, arg("--role", choices=list(ROLE_NAMES), required=True, help="the new gateway-wide role")),
        ),
        Verb("delete", "delete a user and revoke their tokens", _delete, (_EMAIL,)),
    ),
)
register = NOUN.register
