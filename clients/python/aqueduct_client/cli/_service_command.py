"""Verbs that talk to a service other than the tenancy services (GovernanceService, UsageService): the same
connection flags, credential, deadline and error reporting as the admin verbs, plus the scope flags the
governance and usage verbs share (--org / --team with --org / --user / --token-id)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import grpc

from aqueduct_client.cli._command import Command, SubParsers
from aqueduct_client.cli._connection import _AuthorizeCalls, add_connection_arguments, connection_from_env
from aqueduct_client.cli._errors import CliError, describe_rpc_error

# A verb's work: parsed arguments and an authorized stub in, exit status out.
ServiceHandler = Callable[[argparse.Namespace, Any], int]
StubFactory = Callable[[grpc.Channel], Any]


class _AuthorizeAllCalls(_AuthorizeCalls, grpc.UnaryStreamClientInterceptor):
    """The admin verbs' interceptor, for server-streaming calls too (usage export)."""

    def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return self.intercept_unary_unary(continuation, client_call_details, request)


def service_command(stub_factory: StubFactory, handler: ServiceHandler) -> Command:
    def run(args: argparse.Namespace) -> int:
        connection = connection_from_env(args)
        channel = grpc.insecure_channel(connection.address)
        try:
            authorized = grpc.intercept_channel(channel, _AuthorizeAllCalls(connection.token, connection.timeout))
            return handler(args, stub_factory(authorized))
        except grpc.RpcError as error:
            raise CliError(describe_rpc_error(error, connection.address, connection.timeout)) from None
        finally:
            channel.close()

    return run


def add_service_verb(
    verbs: SubParsers, name: str, help_text: str, stub_factory: StubFactory, handler: ServiceHandler
) -> argparse.ArgumentParser:
    parser = verbs.add_parser(name, help=help_text, description=help_text)
    add_connection_arguments(parser, suppress_defaults=True)
    # service_handler lets tests run the verb against a fake stub without a channel.
    parser.set_defaults(func=service_command(stub_factory, handler), service_handler=handler)
    return parser
