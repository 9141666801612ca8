"""`aqueduct exclusions add|remove|merge|show`: hide models and MCP servers from an org, a team or a user."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from aqueduct.v1 import governance_pb2, governance_service_pb2, governance_service_pb2_grpc

from aqueduct_client.cli._command import SubParsers, add_json_flag, add_noun
from aqueduct_client.cli._output import Row, print_rows
from aqueduct_client.cli._service_command import add_scope_arguments, add_service_verb, scope_of

EXCLUSION_COLUMNS = ("kind", "names", "merge", "effective_names")
_KIND_WORDS = {
    governance_pb2.EXCLUSION_KIND_MODEL: "model",
    governance_pb2.EXCLUSION_KIND_MCP_SERVER: "mcp-server",
}
_KINDS = {"model": governance_pb2.EXCLUSION_KIND_MODEL, "mcp-server": governance_pb2.EXCLUSION_KIND_MCP_SERVER}


def _stub(channel: Any) -> Any:
    return governance_service_pb2_grpc.GovernanceServiceStub(channel)


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "exclusions", "model and MCP-server exclusion lists")

    add = add_service_verb(verbs, "add", "exclude a model (name or alias) or an MCP server", _stub, _add)
    _target(add)
    remove = add_service_verb(verbs, "remove", "take a model or MCP server off the list", _stub, _remove)
    _target(remove)

    merge = add_service_verb(
        verbs, "merge", "merge (on) or not (off) the next level's list into this one", _stub, _merge
    )
    add_scope_arguments(merge, token=False)
    merge.add_argument("state", choices=("on", "off"), help="on: inherit the org's (and global) list")
    merge.add_argument(
        "--kind", choices=tuple(_KINDS), default=None, help="only this list's flag (default: both lists)"
    )

    show = add_service_verb(verbs, "show", "show the lists, merge flags and what applies", _stub, _show)
    add_scope_arguments(show, token=False)
    add_json_flag(show)


def _target(parser: argparse.ArgumentParser) -> None:
    add_scope_arguments(parser, token=False)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--model", metavar="NAME", help="a model name or alias")
    what.add_argument("--mcp-server", metavar="NAME", help="an MCP server name")
    add_json_flag(parser)


def list_row(entry: governance_pb2.ExclusionList) -> Row:
    return {
        "kind": _KIND_WORDS.get(entry.kind, "unspecified"),
        "names": ", ".join(entry.names),
        "merge": entry.merge,
        "effective_names": ", ".join(entry.effective_names),
    }


def _print(scope: str, lists: Any, as_json: bool) -> None:
    if not as_json:
        print(f"exclusions of {scope}:", file=sys.stderr)
    print_rows([list_row(entry) for entry in lists], EXCLUSION_COLUMNS, as_json=as_json, out=sys.stdout)


def _kind_and_name(args: argparse.Namespace) -> tuple[governance_pb2.ExclusionKind.ValueType, str]:
    if args.model is not None:
        return governance_pb2.EXCLUSION_KIND_MODEL, args.model
    return governance_pb2.EXCLUSION_KIND_MCP_SERVER, args.mcp_server


def _add(args: argparse.Namespace, stub: Any) -> int:
    kind, name = _kind_and_name(args)
    response = stub.AddExclusion(governance_service_pb2.AddExclusionRequest(scope=scope_of(args), kind=kind, name=name))
    _print(response.scope, response.lists, args.json)
    return 0


def _remove(args: argparse.Namespace, stub: Any) -> int:
    kind, name = _kind_and_name(args)
    request = governance_service_pb2.RemoveExclusionRequest(scope=scope_of(args), kind=kind, name=name)
    response = stub.RemoveExclusion(request)
    _print(response.scope, response.lists, args.json)
    return 0


def _merge(args: argparse.Namespace, stub: Any) -> int:
    kind = _KINDS[args.kind] if args.kind else governance_pb2.EXCLUSION_KIND_UNSPECIFIED
    request = governance_service_pb2.SetExclusionMergeRequest(scope=scope_of(args), kind=kind, merge=args.state == "on")
    response = stub.SetExclusionMerge(request)
    _print(response.scope, response.lists, False)
    return 0


def _show(args: argparse.Namespace, stub: Any) -> int:
    response = stub.GetExclusions(governance_service_pb2.GetExclusionsRequest(scope=scope_of(args)))
    _print(response.scope, response.lists, args.json)
    return 0
