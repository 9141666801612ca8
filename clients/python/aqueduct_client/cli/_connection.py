"""Where core is and who the caller is: resolves --core/--token/env, opens the authorized tenancy stubs.

The CLI makes one short call per run, so it uses the synchronous grpc API; the bearer token and the deadline
are attached by a client interceptor so every command handler just calls the stub."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import grpc
from aqueduct.v1 import (
    org_service_pb2_grpc,
    service_account_service_pb2_grpc,
    team_service_pb2_grpc,
    token_service_pb2_grpc,
    user_service_pb2_grpc,
)

from aqueduct_client._bearer import bearer_metadata
from aqueduct_client.cli._errors import EXIT_USAGE, CliError

DEFAULT_CORE_ADDRESS = "127.0.0.1:50051"
# How long one RPC may take before the CLI gives up; override with --timeout.
DEFAULT_TIMEOUT_SECONDS = 30.0
CORE_ENV = "AQUEDUCT_CORE"
# First match wins: an explicit admin credential, then a user's own token.
TOKEN_ENVS = ("AQUEDUCT_ADMIN_TOKEN", "AQUEDUCT_TOKEN")

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


@dataclass(frozen=True, slots=True)
class Connection:
    """Resolved connection settings for one CLI run."""

    address: str
    token: str
    timeout: float


def add_connection_arguments(parser: argparse.ArgumentParser, *, suppress_defaults: bool) -> None:
    """--core / --token / --timeout. Sub-commands accept them too, with suppressed defaults so a value given
    before the noun is not overwritten by the sub-parser's default."""
    default = argparse.SUPPRESS if suppress_defaults else None
    parser.add_argument(
        "--core",
        metavar="HOST:PORT",
        default=default,
        help=f"core's gRPC address (env {CORE_ENV}; default {DEFAULT_CORE_ADDRESS})",
    )
    parser.add_argument(
        "--token",
        default=default,
        help="bearer token (default: env AQUEDUCT_ADMIN_TOKEN, else AQUEDUCT_TOKEN)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        metavar="SECONDS",
        default=default,
        help=f"per-request deadline (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def resolve_connection(args: argparse.Namespace, environ: Mapping[str, str]) -> Connection:
    """Flags beat environment beat defaults. A missing credential is a usage error."""
    address = getattr(args, "core", None) or environ.get(CORE_ENV) or DEFAULT_CORE_ADDRESS
    token = getattr(args, "token", None) or next((environ[e] for e in TOKEN_ENVS if environ.get(e)), None)
    if not token:
        raise CliError(
            "no credential: set AQUEDUCT_ADMIN_TOKEN (or AQUEDUCT_TOKEN for your own token) or pass --token",
            EXIT_USAGE,
        )
    timeout = getattr(args, "timeout", None) or DEFAULT_TIMEOUT_SECONDS
    return Connection(address=address, token=token, timeout=timeout)


@dataclass(frozen=True, slots=True)
class _CallDetails(grpc.ClientCallDetails):
    method: str
    timeout: float | None
    metadata: tuple[tuple[str, str | bytes], ...] | None
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class _AuthorizeCalls(grpc.UnaryUnaryClientInterceptor):
    """Adds the bearer metadata and a default deadline to every unary call."""

    def __init__(self, token: str, timeout: float) -> None:
        self._metadata = bearer_metadata(token)
        self._timeout = timeout

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, _Request], grpc._CallFuture[_Response]],
        client_call_details: grpc.ClientCallDetails,
        request: _Request,
    ) -> grpc._CallFuture[_Response]:
        details = _CallDetails(
            method=client_call_details.method,
            timeout=client_call_details.timeout or self._timeout,
            metadata=(*(client_call_details.metadata or ()), *self._metadata),
            credentials=client_call_details.credentials,
            wait_for_ready=client_call_details.wait_for_ready,
            compression=client_call_details.compression,
        )
        return continuation(details, request)


@dataclass(frozen=True, slots=True)
class Admin:
    """The tenancy services' stubs over one authorized channel: what an admin verb's handler gets."""

    orgs: org_service_pb2_grpc.OrgServiceStub
    users: user_service_pb2_grpc.UserServiceStub
    teams: team_service_pb2_grpc.TeamServiceStub
    tokens: token_service_pb2_grpc.TokenServiceStub
    service_accounts: service_account_service_pb2_grpc.ServiceAccountServiceStub

    @classmethod
    def over(cls, channel: grpc.Channel) -> Admin:
        return cls(
            org_service_pb2_grpc.OrgServiceStub(channel),
            user_service_pb2_grpc.UserServiceStub(channel),
            team_service_pb2_grpc.TeamServiceStub(channel),
            token_service_pb2_grpc.TokenServiceStub(channel),
            service_account_service_pb2_grpc.ServiceAccountServiceStub(channel),
        )


@contextmanager
def open_admin(connection: Connection) -> Iterator[Admin]:
    """The tenancy stubs, whose calls carry the credential and deadline; the channel closes on exit."""
    channel = grpc.insecure_channel(connection.address)
    try:
        authorized = grpc.intercept_channel(channel, _AuthorizeCalls(connection.token, connection.timeout))
        yield Admin.over(authorized)
    finally:
        channel.close()


def connection_from_env(args: argparse.Namespace) -> Connection:
    return resolve_connection(args, os.environ)
