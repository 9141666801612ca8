"""`aqueduct limits set|clear|show`: rate limits per member (org/team/user), per token, and org/team pools."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from aqueduct.v1 import governance_pb2, governance_service_pb2, governance_service_pb2_grpc

from aqueduct_client.cli._command import SubParsers, add_json_flag, add_noun
from aqueduct_client.cli._errors import CliError
from aqueduct_client.cli._output import Row, print_rows
from aqueduct_client.cli._service_command import add_scope_arguments, add_service_verb, scope_of

LIMIT_COLUMNS = (
    "level",
    "subject",
    "rpm",
    "input_tpm",
    "output_tpm",
    "used_requests",
    "used_input_tokens",
    "used_output_tokens",
    "reset_ms",
)
_LEVEL_WORDS = {
    governance_pb2.RATE_LIMIT_LEVEL_MEMBER: "member",
    governance_pb2.RATE_LIMIT_LEVEL_TOKEN: "token",
    governance_pb2.RATE_LIMIT_LEVEL_ORG_POOL: "org total",
    governance_pb2.RATE_LIMIT_LEVEL_TEAM_POOL: "team total",
}


def _stub(channel: Any) -> Any:
    return governance_service_pb2_grpc.GovernanceServiceStub(channel)


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "limits", "rate limits (sliding 60-second windows)")

    set_ = add_service_verb(verbs, "set", "set limits (only the given dimensions change)", _stub, _set)
    add_scope_arguments(set_, token=True)
    _total_flag(set_)
    set_.add_argument("--rpm", type=_non_negative, metavar="N", help="requests per minute")
    set_.add_argument("--input-tpm", type=_non_negative, metavar="N", help="input tokens per minute")
    set_.add_argument("--output-tpm", type=_non_negative, metavar="N", help="output tokens per minute")
    add_json_flag(set_)

    clear = add_service_verb(verbs, "clear", "remove a scope's limit (or its total with --total)", _stub, _clear)
    add_scope_arguments(clear, token=True)
    _total_flag(clear)

    show = add_service_verb(verbs, "show", "show the effective limits and the current window", _stub, _show)
    add_scope_arguments(show, token=True)
    add_json_flag(show)


def _total_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--total",
        action="store_true",
        help="the org's or team's pool (all its traffic together) instead of the per-member limit",
    )


def limit_row(limit: governance_pb2.RateLimit) -> Row:
    values = limit.limits
    window = limit.window if limit.HasField("window") else None
    return {
        "level": _LEVEL_WORDS.get(limit.level, "unspecified"),
        "subject": limit.subject,
        "pool": limit.pool,
        "rpm": values.rpm if values.HasField("rpm") else None,
        "input_tpm": values.input_tpm if values.HasField("input_tpm") else None,
        "output_tpm": values.output_tpm if values.HasField("output_tpm") else None,
        "rpm_source": limit.rpm_source or None,
        "input_tpm_source": limit.input_tpm_source or None,
        "output_tpm_source": limit.output_tpm_source or None,
        "used_requests": round(window.used_requests, 3) if window else None,
        "used_input_tokens": window.used_input_tokens if window else None,
        "used_output_tokens": window.used_output_tokens if window else None,
        "reset_ms": window.reset_ms if window else None,
    }


def _print(limits: Any, as_json: bool) -> None:
    print_rows([limit_row(limit) for limit in limits], LIMIT_COLUMNS, as_json=as_json, out=sys.stdout)


def _set(args: argparse.Namespace, stub: Any) -> int:
    values = governance_pb2.RateLimitValues()
    for name in ("rpm", "input_tpm", "output_tpm"):
        value = getattr(args, name)
        if value is not None:
            setattr(values, name, value)
    if not values.ListFields():
        raise CliError("give at least one of --rpm, --input-tpm, --output-tpm", exit_code=2)
    request = governance_service_pb2.SetRateLimitRequest(scope=scope_of(args), total=args.total, limits=values)
    response = stub.SetRateLimit(request)
    if not args.json:
        print(f"limits of {response.scope}:", file=sys.stderr)
    _print(response.limits, args.json)
    return 0


def _clear(args: argparse.Namespace, stub: Any) -> int:
    scope = scope_of(args)
    stub.ClearRateLimit(governance_service_pb2.ClearRateLimitRequest(scope=scope, total=args.total))
    print("cleared the total" if args.total else "cleared the limit", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace, stub: Any) -> int:
    response = stub.GetRateLimits(governance_service_pb2.GetRateLimitsRequest(scope=scope_of(args)))
    if not args.json:
        print(f"limits of {response.scope}:", file=sys.stderr)
    _print(response.limits, args.json)
    return 0
