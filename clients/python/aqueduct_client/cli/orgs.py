"""`aqueduct org create|list|delete`."""

from __future__ import annotations

import argparse
import sys

from aqueduct.v1 import admin_service_pb2

from aqueduct_client.cli._command import (
    LIST_PAGE_SIZE,
    AdminStub,
    SubParsers,
    add_json_flag,
    add_noun,
    add_verb,
    all_pages,
)
from aqueduct_client.cli._output import print_rows
from aqueduct_client.cli._resources import ORG_COLUMNS, org_row


def register(subparsers: SubParsers) -> None:
    verbs = add_noun(subparsers, "org", "manage orgs (tenants)")

    create = add_verb(verbs, "create", "create an org", _create)
    create.add_argument("name", metavar="NAME")

    listing = add_verb(verbs, "list", "list orgs", _list)
    add_json_flag(listing)

    delete = add_verb(verbs, "delete", "delete an empty org", _delete)
    delete.add_argument("name", metavar="NAME")


def _create(args: argparse.Namespace, admin: AdminStub) -> int:
    org = admin.CreateOrg(admin_service_pb2.CreateOrgRequest(name=args.name)).org
    print(f"created org {org.name} (id {org.id})")
    return 0


def _list(args: argparse.Namespace, admin: AdminStub) -> int:
    pages = all_pages(
        lambda token: admin.ListOrgs(admin_service_pb2.ListOrgsRequest(page_size=LIST_PAGE_SIZE, page_token=token))
    )
    rows = [org_row(org) for page in pages for org in page.orgs]
    print_rows(rows, ORG_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _delete(args: argparse.Namespace, admin: AdminStub) -> int:
    admin.DeleteOrg(admin_service_pb2.DeleteOrgRequest(name=args.name))
    print(f"deleted org {args.name}")
    return 0
