"""`aqueduct limits set|clear|show`: rate limits per member (org/team/user), per token, and org/team pools."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from aqueduct.v1 import governance_pb2, governance_service_pb2, governance_service_pb2_grpc
from google.protobuf.field_mask_pb2 import FieldMask

from aqueduct_client.cli._command import LIST_PAGE_SIZE, SubParsers, add_json_flag, add_noun, all_pages
from aqueduct_client.cli._errors import CliError
from aqueduct_client.cli._output import Row, print_rows
from aqueduct_client.cli._scope import add_scope_arguments, scope_of
from aqueduct_client.cli._service_command import add_service_verb
from aqueduct_client.governance_names import describe_scope, rate_limit_name

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
DIMENSIONS = ("rpm", "input_tpm", "output_tpm")
# The server stores limits as 32-bit integers; a larger value is a typo, and would not fit the message anyway.
MAX_LIMIT = 2**31 - 1
_LEVEL_WORDS = {
    governance_pb2.RATE_LIMIT_LEVEL_MEMBER: "member",
    governance_pb2.RATE_LIMIT_LEVEL_TOKEN: "token",
    governance_pb2.RATE_LIMIT_LEVEL_ORG_POOL: "org total",
    governance_pb2.RATE_LIMIT_LEVEL_TEAM_POOL: "team total",
}
_POOLS = (governance_pb2.RATE_LIMIT_LEVEL_ORG_POOL, governance_pb2.RATE_LIMIT_LEVEL_TEAM_POOL)


def _stub(channel: Any) -> Any:
    return governance_service_pb2_grpc.GovernanceServiceStub(channel)


def _limit_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_LIMIT}")
    return value


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "limits", "rate limits (sliding 60-second windows)")

    set_ = add_service_verb(verbs, "set", "set limits (only the given dimensions change)", _stub, _set)
    add_scope_arguments(set_, token=True)
    _total_flag(set_)
    set_.add_argument("--rpm", type=_limit_value, metavar="N", help="requests per minute")
    set_.add_argument("--input-tpm", type=_limit_value, metavar="N", help="input tokens per minute")
    set_.add_argument("--output-tpm", type=_limit_value, metavar="N", help="output tokens per minute")
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


def _subject(limit: governance_pb2.RateLimit) -> str:
    scope = describe_scope(limit.name.rsplit("/rateLimits/", 1)[0])
    if limit.level in _POOLS:
        return f"all of {scope}"
    if limit.level == governance_pb2.RATE_LIMIT_LEVEL_MEMBER and limit.name.startswith("orgs/"):
        return f"each member of {scope}"
    return scope


def source_text(effective: governance_pb2.EffectiveLimit) -> str | None:
    """Where a value is set, in words: "org acme's per-member limit", "user a@b.c's own limit", ..."""
    if not effective.HasField("value"):
        return None
    source = effective.source
    scope = describe_scope(source.scope)
    if source.level in _POOLS:
        return f"{scope}'s total"
    if source.level == governance_pb2.RATE_LIMIT_LEVEL_MEMBER and source.scope.startswith("orgs/"):
        return f"{scope}'s per-member limit"
    return f"{scope}'s own limit"


def limit_row(limit: governance_pb2.RateLimit) -> Row:
    """The effective values (what admission enforces) with their sources, and the current window."""
    window = limit.window if limit.HasField("window") else None
    effective = {
        "rpm": limit.effective_rpm,
        "input_tpm": limit.effective_input_tpm,
        "output_tpm": limit.effective_output_tpm,
    }
    row: dict[str, Any] = {
        "name": limit.name,
        "level": _LEVEL_WORDS.get(limit.level, "unspecified"),
        "subject": _subject(limit),
        "pool": limit.level in _POOLS,
    }
    row.update({name: e.value if e.HasField("value") else None for name, e in effective.items()})
    row.update({f"{name}_source": source_text(e) for name, e in effective.items()})
    row.update({f"{name}_source_scope": e.source.scope or None for name, e in effective.items()})
    row.update(
        {
            "used_requests": round(window.used_requests, 3) if window else None,
            "used_input_tokens": window.used_input_tokens if window else None,
            "used_output_tokens": window.used_output_tokens if window else None,
            "reset_ms": window.reset_ms if window else None,
        }
    )
    return row


def _show_scope(stub: Any, scope: str, as_json: bool) -> None:
    def fetch(token: str) -> Any:
        request = governance_service_pb2.ListRateLimitsRequest(parent=scope, page_size=LIST_PAGE_SIZE, page_token=token)
        return stub.ListRateLimits(request)

    limits = [limit for page in all_pages(fetch) for limit in page.rate_limits]
    if not as_json:
        print(f"limits of {describe_scope(scope)}:", file=sys.stderr)
    print_rows([limit_row(limit) for limit in limits], LIMIT_COLUMNS, as_json=as_json, out=sys.stdout)


def _set(args: argparse.Namespace, stub: Any) -> int:
    given = {name: getattr(args, name) for name in DIMENSIONS if getattr(args, name) is not None}
    if not given:
        raise CliError("give at least one of --rpm, --input-tpm, --output-tpm", exit_code=2)
    scope = scope_of(args)
    request = governance_service_pb2.UpdateRateLimitRequest(
        rate_limit=governance_pb2.RateLimit(name=rate_limit_name(scope, total=args.total), **given),
        update_mask=FieldMask(paths=list(given)),
        allow_missing=True,
    )
    stub.UpdateRateLimit(request)
    _show_scope(stub, scope, args.json)
    return 0


def _clear(args: argparse.Namespace, stub: Any) -> int:
    name = rate_limit_name(scope_of(args), total=args.total)
    stub.DeleteRateLimit(governance_service_pb2.DeleteRateLimitRequest(name=name))
    print("cleared the total" if args.total else "cleared the limit", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace, stub: Any) -> int:
    _show_scope(stub, scope_of(args), args.json)
    return 0
