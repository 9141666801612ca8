"""The glue every noun module uses: declare a verb, run its handler against an authorized AdminService stub,
and page through list RPCs."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import Protocol, TypeAlias, TypeVar

import grpc
from aqueduct.v1 import admin_service_pb2_grpc

from aqueduct_client.cli._connection import add_connection_arguments, connection_from_env, open_admin
from aqueduct_client.cli._errors import CliError, describe_rpc_error

# A string: _SubParsersAction is generic only to type checkers.
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
AdminStub = admin_service_pb2_grpc.AdminServiceStub
# A verb's work: parsed arguments and an authorized stub in, exit status out.
AdminHandler = Callable[[argparse.Namespace, AdminStub], int]
# What main() calls; set on the parser with set_defaults(func=...).
Command = Callable[[argparse.Namespace], int]

# Items asked for per page when listing; the CLI keeps asking until next_page_token is empty.
LIST_PAGE_SIZE = 200


def admin_command(handler: AdminHandler) -> Command:
    def run(args: argparse.Namespace) -> int:
        connection = connection_from_env(args)
        with open_admin(connection) as admin:
            try:
                return handler(args, admin)
            except grpc.RpcError as error:
                message = describe_rpc_error(error, connection.address, connection.timeout)
                raise CliError(message) from None

    return run


def add_noun(subparsers: SubParsers, name: str, help_text: str, *, aliases: list[str] | None = None) -> SubParsers:
    """A noun (e.g. `org`) whose verbs are required sub-commands."""
    noun = subparsers.add_parser(name, help=help_text, description=help_text, aliases=aliases or [])
    verbs = noun.add_subparsers(title="commands", dest="verb", metavar="COMMAND")
    verbs.required = True
    return verbs


def add_verb(verbs: SubParsers, name: str, help_text: str, handler: AdminHandler) -> argparse.ArgumentParser:
    """A verb that talks to AdminService; accepts the connection flags after the verb too."""
    parser = verbs.add_parser(name, help=help_text, description=help_text)
    add_connection_arguments(parser, suppress_defaults=True)
    # admin_handler lets tests run the verb against a fake stub without a channel.
    parser.set_defaults(func=admin_command(handler), admin_handler=handler)
    return parser


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of a table")


class _Page(Protocol):
    @property
    def next_page_token(self) -> str: ...


_P = TypeVar("_P", bound=_Page)


def all_pages(fetch: Callable[[str], _P]) -> Iterator[_P]:
    """Call fetch(page_token) from the first page until next_page_token is empty."""
    token = ""
    seen: set[str] = set()
    while True:
        page = fetch(token)
        yield page
        token = page.next_page_token
        if not token:
            return
        if token in seen:
            # A server bug must not turn into an endless loop in someone's shell.
            raise CliError("server repeated a page token; the listing is incomplete")
        seen.add(token)
