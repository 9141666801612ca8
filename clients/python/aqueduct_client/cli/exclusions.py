"""`aqueduct exclusions add|remove|merge|show`: hide models and MCP servers from an org, a team or a user."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import grpc
from aqueduct.v1 import governance_pb2, governance_service_pb2, governance_service_pb2_grpc
from google.protobuf.field_mask_pb2 import FieldMask

from aqueduct_client.cli._command import LIST_PAGE_SIZE, SubParsers, add_json_flag, add_noun, all_pages
from aqueduct_client.cli._output import Row, print_rows
from aqueduct_client.cli._scope import add_scope_arguments, scope_of
from aqueduct_client.cli._service_command import add_service_verb
from aqueduct_client.governance_names import describe_scope, exclusion_name, exclusion_policy_name

EXCLUSION_COLUMNS = ("kind", "names", "merge", "effective_names")
_KINDS = {"model": governance_pb2.EXCLUSION_KIND_MODEL, "mcp-server": governance_pb2.EXCLUSION_KIND_MCP_SERVER}
# Per kind word: the policy's merge flag field (also its update_mask path) and its effective list field.
_POLICY_FIELDS = {
    "model": ("merge_models", "effective_excluded_models"),
    "mcp-server": ("merge_mcp_servers", "effective_excluded_mcp_servers"),
}


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


def list_rows(policy: governance_pb2.ExclusionPolicy, exclusions: list[governance_pb2.Exclusion]) -> list[Row]:
    """One row per kind: the scope's own names, its merge flag and what applies after inheritance."""
    rows: list[Row] = []
    for word, kind in _KINDS.items():
        merge_field, effective_field = _POLICY_FIELDS[word]
        own = sorted(e.target for e in exclusions if e.kind == kind)
        rows.append(
            {
                "kind": word,
                "names": ", ".join(own),
                "merge": bool(getattr(policy, merge_field)),
                "effective_names": ", ".join(getattr(policy, effective_field)),
            }
        )
    return rows


def _print(stub: Any, scope: str, as_json: bool) -> None:
    def fetch(token: str) -> Any:
        request = governance_service_pb2.ListExclusionsRequest(parent=scope, page_size=LIST_PAGE_SIZE, page_token=token)
        return stub.ListExclusions(request)

    exclusions = [e for page in all_pages(fetch) for e in page.exclusions]
    policy_request = governance_service_pb2.GetExclusionPolicyRequest(name=exclusion_policy_name(scope))
    policy = stub.GetExclusionPolicy(policy_request).exclusion_policy
    if not as_json:
        print(f"exclusions of {describe_scope(scope)}:", file=sys.stderr)
    print_rows(list_rows(policy, exclusions), EXCLUSION_COLUMNS, as_json=as_json, out=sys.stdout)


def _kind_and_target(args: argparse.Namespace) -> tuple[governance_pb2.ExclusionKind.ValueType, str]:
    if args.model is not None:
        return governance_pb2.EXCLUSION_KIND_MODEL, args.model
    return governance_pb2.EXCLUSION_KIND_MCP_SERVER, args.mcp_server


def _add(args: argparse.Namespace, stub: Any) -> int:
    kind, target = _kind_and_target(args)
    scope = scope_of(args)
    request = governance_service_pb2.CreateExclusionRequest(
        parent=scope, exclusion=governance_pb2.Exclusion(kind=kind, target=target)
    )
    try:
        stub.CreateExclusion(request)
    except grpc.RpcError as error:
        # Adding what is already excluded is not an error for a person at a shell.
        if not (isinstance(error, grpc.Call) and error.code() is grpc.StatusCode.ALREADY_EXISTS):
            raise
    _print(stub, scope, args.json)
    return 0


def _remove(args: argparse.Namespace, stub: Any) -> int:
    kind, target = _kind_and_target(args)
    scope = scope_of(args)
    stub.DeleteExclusion(governance_service_pb2.DeleteExclusionRequest(name=exclusion_name(scope, kind, target)))
    _print(stub, scope, args.json)
    return 0


def _merge(args: argparse.Namespace, stub: Any) -> int:
    scope = scope_of(args)
    fields = [_POLICY_FIELDS[args.kind][0]] if args.kind else [merge for merge, _ in _POLICY_FIELDS.values()]
    policy = governance_pb2.ExclusionPolicy(name=exclusion_policy_name(scope))
    for field in fields:
        setattr(policy, field, args.state == "on")
    request = governance_service_pb2.UpdateExclusionPolicyRequest(
        exclusion_policy=policy, update_mask=FieldMask(paths=fields)
    )
    stub.UpdateExclusionPolicy(request)
    _print(stub, scope, False)
    return 0


def _show(args: argparse.Namespace, stub: Any) -> int:
    _print(stub, scope_of(args), args.json)
    return 0
