"""`aqueduct models status`: every deployment's routing state (ModelService.ListDeployments)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import grpc
from aqueduct.v1 import model_pb2, model_service_pb2, model_service_pb2_grpc

from aqueduct_client.cli._command import LIST_PAGE_SIZE, SubParsers, add_json_flag, add_noun, all_pages
from aqueduct_client.cli._connection import (
    Connection,
    _AuthorizeCalls,
    add_connection_arguments,
    connection_from_env,
)
from aqueduct_client.cli._errors import CliError, describe_rpc_error
from aqueduct_client.cli._output import Row, print_rows, timestamp_to_iso

ModelStub = model_service_pb2_grpc.ModelServiceStub
# A verb's work against an authorized ModelService stub (tests pass a fake stub).
ModelHandler = Callable[[argparse.Namespace, ModelStub], int]

DEPLOYMENT_COLUMNS = (
    "id",
    "model",
    "upstream_model",
    "state",
    "cooldown_until",
    "in_flight",
    "latency_ms",
    "error_rate",
    "requests_last_minute",
)
_STATES = {
    model_pb2.DEPLOYMENT_STATE_HEALTHY: "healthy",
    model_pb2.DEPLOYMENT_STATE_COOLING_DOWN: "cooling_down",
}


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "models", "inspect models and their deployments", aliases=["model"])
    help_text = (
        "show each deployment's state: healthy or cooling down (until when), in-flight requests, recent "
        "latency and error rate (as seen by the core replica that answers; admins only)"
    )
    status = verbs.add_parser("status", help=help_text, description=help_text)
    add_connection_arguments(status, suppress_defaults=True)
    status.add_argument("--model", default="", help="only this model's deployments (name or alias)")
    add_json_flag(status)
    status.set_defaults(func=_model_command(_status), models_handler=_status)


def deployment_row(d: model_pb2.Deployment) -> Row:
    return {
        "id": d.id,
        "model": d.model,
        "provider": d.provider,
        "upstream_model": d.upstream_model,
        "state": _STATES.get(d.state, "unknown"),
        "cooldown_until": timestamp_to_iso(d.cooldown_until) if d.HasField("cooldown_until") else None,
        "in_flight": d.in_flight,
        "latency_ms": round(d.latency_ms, 1) if d.HasField("latency_ms") else None,
        "error_rate": round(d.error_rate, 3),
        "requests_last_minute": d.requests_last_minute,
        "failures_last_minute": d.failures_last_minute,
        "tokens_last_minute": d.tokens_last_minute,
        "rpm": d.rpm if d.HasField("rpm") else None,
        "tpm": d.tpm if d.HasField("tpm") else None,
        "max_parallel_requests": d.max_parallel_requests if d.HasField("max_parallel_requests") else None,
        "weight": d.weight,
    }


def _status(args: argparse.Namespace, models: ModelStub) -> int:
    pages = all_pages(
        lambda token: models.ListDeployments(
            model_service_pb2.ListDeploymentsRequest(model=args.model, page_size=LIST_PAGE_SIZE, page_token=token)
        )
    )
    rows = [deployment_row(d) for page in pages for d in page.deployments]
    print_rows(rows, DEPLOYMENT_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _model_command(handler: ModelHandler) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        connection = connection_from_env(args)
        with _open_models(connection) as models:
            try:
                return handler(args, models)
            except grpc.RpcError as error:
                raise CliError(describe_rpc_error(error, connection.address, connection.timeout)) from None

    return run


@contextmanager
def _open_models(connection: Connection) -> Iterator[ModelStub]:
    """A ModelService stub whose calls carry the credential and deadline (as open_admin does)."""
    channel = grpc.insecure_channel(connection.address)
    try:
        authorized = grpc.intercept_channel(channel, _AuthorizeCalls(connection.token, connection.timeout))
        yield model_service_pb2_grpc.ModelServiceStub(authorized)
    finally:
        channel.close()
