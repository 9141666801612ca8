"""`aqueduct token create|list|regenerate|delete`.

A secret is printed alone on stdout (so `$(aqueduct token create ...)` captures exactly it); anything else
goes to stderr, and only when a person is watching."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from aqueduct.v1 import admin_service_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from aqueduct_client.cli._command import (
    LIST_PAGE_SIZE,
    AdminStub,
    SubParsers,
    add_json_flag,
    add_noun,
    add_verb,
    all_pages,
)
from aqueduct_client.cli._output import iso_from_datetime, print_rows
from aqueduct_client.cli._resources import TOKEN_COLUMNS, token_row


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "token", "manage personal API tokens")

    create = add_verb(verbs, "create", "create a token and print its secret (shown only once)", _create)
    create.add_argument("--user", default="", metavar="EMAIL", help="the owner's email (default: yourself)")
    create.add_argument("--name", required=True, help="a name to recognise the token by")
    create.add_argument(
        "--expires-at",
        type=parse_expiry,
        metavar="ISO8601",
        help="expiry, e.g. 2027-01-31T00:00:00Z (no zone means UTC; default: never)",
    )

    listing = add_verb(verbs, "list", "list tokens (ids, names, previews, expiry)", _list)
    listing.add_argument("--user", default="", metavar="EMAIL", help="only this user's tokens")
    add_json_flag(listing)

    regenerate = add_verb(verbs, "regenerate", "replace a token's secret and print the new one", _regenerate)
    regenerate.add_argument("id", metavar="ID", help="the token's id")

    delete = add_verb(verbs, "delete", "delete a token", _delete)
    delete.add_argument("id", metavar="ID", help="the token's id")


def parse_expiry(text: str) -> datetime:
    """An ISO 8601 date or date-time; without a zone it is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r} (e.g. 2027-01-31T00:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _note(message: str) -> None:
    if sys.stderr.isatty():
        print(message, file=sys.stderr)


def _create(args: argparse.Namespace, admin: AdminStub) -> int:
    request = admin_service_pb2.CreateTokenRequest(user_email=args.user, name=args.name)
    if args.expires_at is not None:
        expiry = Timestamp()
        expiry.FromDatetime(args.expires_at)
        request.expire_time.CopyFrom(expiry)
    response = admin.CreateToken(request)
    print(response.secret)
    expiry_note = f", expires {iso_from_datetime(args.expires_at)}" if args.expires_at else ""
    _note(f"token {response.token.id} ({response.token.name}){expiry_note}; the secret is not shown again")
    return 0


def _list(args: argparse.Namespace, admin: AdminStub) -> int:
    pages = all_pages(
        lambda token: admin.ListTokens(
            admin_service_pb2.ListTokensRequest(user_email=args.user, page_size=LIST_PAGE_SIZE, page_token=token)
        )
    )
    rows = [token_row(item) for page in pages for item in page.tokens]
    print_rows(rows, TOKEN_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _regenerate(args: argparse.Namespace, admin: AdminStub) -> int:
    response = admin.RegenerateToken(admin_service_pb2.RegenerateTokenRequest(id=args.id))
    print(response.secret)
    _note(f"token {response.token.id} regenerated; the old secret no longer works")
    return 0


def _delete(args: argparse.Namespace, admin: AdminStub) -> int:
    admin.DeleteToken(admin_service_pb2.DeleteTokenRequest(id=args.id))
    print(f"deleted token {args.id}")
    return 0
