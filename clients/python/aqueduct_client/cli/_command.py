"""The glue every tenancy noun module uses: a table of verbs (name, help, arguments, handler) registered in one
place, each run against the authorized tenancy stubs, and paging through list RPCs."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, TypeVar

import grpc

from aqueduct_client.cli._connection import Admin, add_connection_arguments, connection_from_env, open_admin
from aqueduct_client.cli._errors import CliError, describe_rpc_error

# A string: _SubParsersAction is generic only to type checkers.
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
# A verb's work: parsed arguments and the authorized stubs in, exit status out.
AdminHandler = Callable[[argparse.Namespace, Admin], int]
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


def add_noun(subparsers: SubParsers, name: str, help_text: str, *, aliases: Sequence[str] = ()) -> SubParsers:
    """A noun (e.g. `org`) whose verbs are required sub-commands."""
    noun = subparsers.add_parser(name, help=help_text, description=help_text, aliases=list(aliases))
    verbs = noun.add_subparsers(title="commands", dest="verb", metavar="COMMAND")
    verbs.required = True
    return verbs


def add_verb(verbs: SubParsers, name: str, help_text: str, handler: AdminHandler) -> argparse.ArgumentParser:
    """A verb that talks to the tenancy services; accepts the connection flags after the verb too."""
    parser = verbs.add_parser(name, help=help_text, description=help_text)
    add_connection_arguments(parser, suppress_defaults=True)
    # admin_handler lets tests run the verb against a fake stub without a channel.
    parser.set_defaults(func=admin_command(handler), admin_handler=handler)
    return parser


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of a table")


@dataclass(frozen=True, slots=True)
class Arg:
    """One add_argument call: its flags or name, and its keyword arguments."""

    names: tuple[str, ...]
    options: dict[str, Any]


def arg(*names: str, **options: Any) -> Arg:
    return Arg(names, options)


@dataclass(frozen=True, slots=True)
class Verb:
    """One row of a noun's verb table."""

    name: str
    help: str
    handler: AdminHandler
    args: Sequence[Arg] = field(default_factory=tuple)
    json: bool = False  # a listing: takes --json


@dataclass(frozen=True, slots=True)
class Noun:
    name: str
    help: str
    verbs: Sequence[Verb]
    aliases: Sequence[str] = ()

    def register(self, subparsers: SubParsers) -> None:
        verbs = add_noun(subparsers, self.name, self.help, aliases=self.aliases)
        for verb in self.verbs:
            parser = add_verb(verbs, verb.name, verb.help, verb.handler)
            for argument in verb.args:
                parser.add_argument(*argument.names, **argument.options)
            if verb.json:
                add_json_flag(parser)


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


def list_all(call: Callable[[Any], Any], request: Any, items: str) -> list[Any]:
    """Every item of a List RPC: `request` (its filters set) is re-sent with page_size and each page_token,
    and the repeated field `items` of every page is collected."""

    def fetch(token: str) -> Any:
        page_request = type(request)()
        page_request.CopyFrom(request)
        page_request.page_size = LIST_PAGE_SIZE
        page_request.page_token = token
        return call(page_request)

    return [item for page in all_pages(fetch) for item in getattr(page, items)]
