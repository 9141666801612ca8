"""`aqueduct org create|list|get|delete`."""

from __future__ import annotations

import argparse
import sys

from aqueduct.v1 import org_pb2, org_service_pb2

from aqueduct_client import names
from aqueduct_client.cli._command import Noun, Verb, arg, list_all
from aqueduct_client.cli._connection import Admin
from aqueduct_client.cli._output import print_one, print_rows
from aqueduct_client.cli._resources import ORG_COLUMNS, org_row


def _create(args: argparse.Namespace, admin: Admin) -> int:
    request = org_service_pb2.CreateOrgRequest(org_id=args.name, org=org_pb2.Org())
    org = admin.orgs.CreateOrg(request).org
    print(f"created org {names.segment(org.name, 'orgs')} (id {org.uid})")
    return 0


def _list(args: argparse.Namespace, admin: Admin) -> int:
    orgs = list_all(admin.orgs.ListOrgs, org_service_pb2.ListOrgsRequest(), "orgs")
    print_rows([org_row(org) for org in orgs], ORG_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _get(args: argparse.Namespace, admin: Admin) -> int:
    org = admin.orgs.GetOrg(org_service_pb2.GetOrgRequest(name=names.org(args.name))).org
    print_one(org_row(org), ORG_COLUMNS, as_json=args.json, out=sys.stdout)
    return 0


def _delete(args: argparse.Namespace, admin: Admin) -> int:
    admin.orgs.DeleteOrg(org_service_pb2.DeleteOrgRequest(name=names.org(args.name)))
    print(f"deleted org {args.name}")
    return 0


_NAME = arg("name", metavar="NAME")

NOUN = Noun(
    "org",
    "manage orgs (tenants)",
    (
        Verb("create", "create an org", _create, (_NAME,)),
        Verb("list", "list orgs", _list, json=True),
        Verb("get", "show one org", _get, (_NAME,), json=True),
        Verb("delete", "delete an empty org", _delete, (_NAME,)),
    ),
)
register = NOUN.register
