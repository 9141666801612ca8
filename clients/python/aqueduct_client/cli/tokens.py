"""`aqueduct token create|list|get|update|regenerate|delete`.

A secret is printed alone on stdout (so `$(aqueduct token create ...)` captures exactly it); anything else
goes to stderr, and only when a person is watching."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from aqueduct.v1 import token_pb2, token_service_pb2
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from aqueduct_client import names
from aqueduct_client.cli._command import Noun, Verb, arg, list_all
from aqueduct_client.cli._connection import Admin
from aqueduct_client.cli._errors import EXIT_USAGE, CliError
from aqueduct_client.cli._output import iso_from_datetime, print_one, print_rows
from aqueduct_client.cli._resources import TOKEN_COLUMNS, token_row


def parse_expiry(text: str) -> datetime:
    """An ISO 8601 date or date-time; without a zone it is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date-time: {text!r} (e.g. 2027-01-31T00:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _note(message: str) -> None:
    if sys.stderr.isatty():
        print(message, file=sys.stderr)


def _create(args: argparse.Namespace, admin: Admin) -> int:
    token = token_pb2.Token(user=names.user(args.user) if args.user else "", display_name=args.name)
    if args.expires_at is not None:
        token.expire_time.CopyFrom(_timestamp(args.expires_at))
    response = admin.tokens.CreateToken(token_service_pb2.CreateTokenRequest(token=token))
    print(response.secret)
    expiry_note = f", expires {iso_from_datetime(args.expires_at)}" if args.expires_at else ""
    token_id = names.segment(response.token.name, "tokens")
    _note(f"token {token_id} ({response.token.display_name}){expiry_note}; the secret is not shown again")
    return 0


def _list(args: argparse.Namespace, admin: Admin) -> int:
    request = token_service_pb2.ListTokensRequest(user=names.user(args.user) if args.user else "")
    tokens = list_all(admin.tokens.ListTokens, request, "tokens")
    print_rows([token_row(item) for item in tokens], TOKEN_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _get(args: argparse.Namespace, admin: Admin) -> int:
    token = admin.tokens.GetToken(token_service_pb2.GetTokenRequest(name=names.token(args.id))).token
    print_one(token_row(token), TOKEN_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _update(args: argparse.Namespace, admin: Admin) -> int:
    token = token_pb2.Token(name=names.token(args.id))
    paths = []
    if args.name is not None:
        token.display_name = args.name
        paths.append("display_name")
    if args.expires_at is not None:
        token.expire_time.CopyFrom(_timestamp(args.expires_at))
        paths.append("expire_time")
    elif args.never_expires:
        paths.append("expire_time")  # in the mask but unset: never
    if not paths:
        raise CliError("nothing to change: give --name, --expires-at or --never-expires", EXIT_USAGE)
    request = token_service_pb2.UpdateTokenRequest(token=token, update_mask=FieldMask(paths=paths))
    row = token_row(admin.tokens.UpdateToken(request).token)
    print(f"updated token {row['id']} ({row['name']}), expires {row['expire_time'] or 'never'}")
    return 0


def _regenerate(args: argparse.Namespace, admin: Admin) -> int:
    request = token_service_pb2.RegenerateTokenRequest(name=names.token(args.id))
    response = admin.tokens.RegenerateToken(request)
    print(response.secret)
    _note(f"token {names.segment(response.token.name, 'tokens')} regenerated; the old secret no longer works")
    return 0


def _delete(args: argparse.Namespace, admin: Admin) -> int:
    admin.tokens.DeleteToken(token_service_pb2.DeleteTokenRequest(name=names.token(args.id)))
    print(f"deleted token {args.id}")
    return 0


_ID = arg("id", metavar="ID", help="the token's id")
_EXPIRY_HELP = "expiry, e.g. 2027-01-31T00:00:00Z (no zone means UTC)"

NOUN = Noun(
    "token",
    "manage personal API tokens",
    (
        Verb(
            "create",
            "create a token and print its secret (shown only once)",
            _create,
            (
                arg("--user", default="", metavar="EMAIL", help="the owner's email (default: yourself)"),
                arg("--name", required=True, help="a name to recognise the token by"),
                arg("--expires-at", type=parse_expiry, metavar="ISO8601", help=f"{_EXPIRY_HELP}; default: never"),
            ),
        ),
        Verb(
            "list",
            "list tokens (ids, names, previews, expiry)",
            _list,
            (arg("--user", default="", metavar="EMAIL", help="only this user's tokens"),),
            json=True,
        ),
        Verb("get", "show one token (never its secret)", _get, (_ID,), json=True),
        Verb(
            "update",
            "rename a token or change its expiry",
            _update,
            (
                _ID,
                arg("--name", help="the new name"),
                arg("--expires-at", type=parse_expiry, metavar="ISO8601", help=f"new {_EXPIRY_HELP}"),
                arg("--never-expires", action="store_true", help="remove the expiry"),
            ),
        ),
        Verb("regenerate", "replace a token's secret and print the new one", _regenerate, (_ID,)),
        Verb("delete", "delete a token", _delete, (_ID,)),
    ),
)
register = NOUN.register
