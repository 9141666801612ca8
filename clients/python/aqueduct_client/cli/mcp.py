"""`aqueduct mcp list` (the MCP servers the caller may use) and `aqueduct mcp status` (each server probed:
reachable, protocol versions spoken, sessions open; admins only), over McpService."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import grpc
from aqueduct.v1 import mcp_service_pb2, mcp_service_pb2_grpc

from aqueduct_client.cli._command import LIST_PAGE_SIZE, SubParsers, add_json_flag, add_noun, all_pages
from aqueduct_client.cli._output import Row, print_rows
from aqueduct_client.cli._service_command import add_service_verb

LIST_COLUMNS = ("name", "description", "tags", "icon_url")
STATUS_COLUMNS = ("name", "reachable", "protocol_versions", "open_sessions", "error")


def _stub(channel: grpc.Channel) -> Any:
    return mcp_service_pb2_grpc.McpServiceStub(channel)


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "mcp", "MCP servers behind the gateway's MCP proxy")
    listing = add_service_verb(verbs, "list", "list the MCP servers you may use", _stub, _list)
    add_json_flag(listing)
    status = add_service_verb(
        verbs,
        "status",
        "probe MCP servers: reachability, protocol versions spoken, sessions open (admins only)",
        _stub,
        _status,
    )
    status.add_argument("names", nargs="*", help="server names (default: every server)")
    add_json_flag(status)


def _servers(stub: Any) -> list[Any]:
    pages = all_pages(
        lambda token: stub.ListMcpServers(
            mcp_service_pb2.ListMcpServersRequest(page_size=LIST_PAGE_SIZE, page_token=token)
        )
    )
    return [server for page in pages for server in page.mcp_servers]


def _list(args: argparse.Namespace, stub: Any) -> int:
    rows: list[Row] = [
        {
            "name": s.name.removeprefix("mcpServers/"),
            "description": s.description,
            "tags": ",".join(s.tags),
            "icon_url": s.icon_url or None,
        }
        for s in _servers(stub)
    ]
    print_rows(rows, LIST_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _status(args: argparse.Namespace, stub: Any) -> int:
    names = args.names or [s.name.removeprefix("mcpServers/") for s in _servers(stub)]
    rows: list[Row] = []
    for name in names:
        reply = stub.GetMcpServerStatus(mcp_service_pb2.GetMcpServerStatusRequest(name=f"mcpServers/{name}"))
        status = reply.status
        versions = list(status.protocol_versions)
        rows.append(
            {
                "name": status.name.removeprefix("mcpServers/"),
                "reachable": status.reachable,
                "protocol_versions": ",".join(versions),
                "open_sessions": status.open_sessions,
                "error": status.error or None,
            }
        )
    print_rows(rows, STATUS_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0
