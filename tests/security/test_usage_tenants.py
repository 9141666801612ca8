"""#3 and #14 for usage: a request's `user_id` field never puts records into another tenant's view, nor into a
user's own count; other tenants' users, orgs, teams and tokens answer identically whether or not they exist,
and a denial names nobody. Tried as the review did: a service account of org B sends `user_id` = alice@a's
email, then alice, her org-admin and the admin query through the real CLI."""

from __future__ import annotations

import json
import uuid
from typing import Any

import openai
import pytest
from aqueduct.v1 import user_pb2

from tests.integration.governance.conftest import MESSAGES, Tenant
from tests.security.conftest import add_member, new_tenant
from tests.support.gateway import ADMIN_TOKEN, Gateway
from tests.support.waiting import wait_until

ORG_B_AGENT = "orgb-internal-billing-service/1.0"


def chat(gateway: Gateway, token: str, user_id: str | None = None, agent: str = "pytest") -> None:
    with openai.OpenAI(
        base_url=gateway.v1, api_key=token, max_retries=0, default_headers={"User-Agent": agent}
    ) as client:
        extra = {"user_id": user_id} if user_id else None
        client.chat.completions.create(model="chat-model", messages=MESSAGES, extra_body=extra)


def report(tenant: Tenant, *args: str, token: str | None = None) -> dict[str, Any]:
    argv = ("usage", "--since", "1h", *args, "--json")
    result = tenant.cli(*argv, token=token) if token else tenant.cli(*argv)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def export(tenant: Tenant, *args: str, token: str = ADMIN_TOKEN) -> list[dict[str, Any]]:
    out = tenant.cli("usage", "export", "--since", "1h", "--format", "jsonl", *args, token=token).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def world(gateway: Gateway) -> dict[str, Any]:
    a, b = new_tenant(gateway), new_tenant(gateway)
    alice_email, alice = a.user("alice")
    carl_email, _ = a.user("carl")
    _, boss = a.user("boss", role=user_pb2.ROLE_ORG_ADMIN)
    a.team("ops")
    add_member(a, "ops", alice_email)
    add_member(a, "ops", carl_email)
    a.team("other")
    add_member(a, "other", carl_email)
    ops_token_id, ops_bot = a.service_account("ops", carl_email, "ops-bot")
    _, other_bot = a.service_account("other", carl_email, "other-bot")
    bob_email, _ = b.user("bob")
    b.team("billing")
    add_member(b, "billing", bob_email)
    svc1_token_id, svc1 = b.service_account("billing", bob_email, "svc1")

    chat(gateway, alice)  # alice's own request
    for _ in range(3):  # org B's service names alice
        chat(gateway, svc1, alice_email, ORG_B_AGENT)
    for _ in range(2):  # a service account of alice's team names her
        chat(gateway, ops_bot, alice_email)
    chat(gateway, other_bot, alice_email)  # a team of her org she is not in
    wait_until(
        lambda: (
            report(a, "--org", a.org)["totals"]["requests"] == 4
            and report(b, "--org", b.org)["totals"]["requests"] == 3
        ),
        interval=0.1,
        what="7 requests flushed",
    )
    return {
        "a": a,
        "b": b,
        "alice": alice,
        "alice_email": alice_email,
        "carl_email": carl_email,
        "boss": boss,
        "bob_email": bob_email,
        "svc1_token_id": svc1_token_id,
        "ops_token_id": ops_token_id,
        "carl_token_id": a.token_id(carl_email),
    }


def test_records_naming_a_user_are_never_their_own(world: dict[str, Any]) -> None:
    a, alice, email = world["a"], world["alice"], world["alice_email"]
    assert report(a, token=alice)["totals"]["requests"] == 1
    assert report(a, "--group-by", "org", token=alice)["groups"][0]["label"] == a.org
    assert report(a, "--user", email)["totals"]["requests"] == 1  # the admin's count
    assert report(a, "--user", email, token=world["boss"])["totals"]["requests"] == 1
    # Asked for, the records naming her come apart, and only from her own team's service account.
    mine = report(a, "--include-end-user", token=alice)
    assert mine["totals"]["requests"] == 1 and mine["end_user_totals"]["requests"] == 2
    admin_view = report(a, "--user", email, "--include-end-user", "--group-by", "user_id")
    assert admin_view["totals"]["requests"] == 1 and admin_view["end_user_totals"]["requests"] == 2
    assert [g["key"] for g in admin_view["groups"]] == [""]
    text = a.cli("usage", "--since", "1h", "--include-end-user", token=alice).stdout
    assert "requests naming the user in their user_id field (service accounts' usage, not counted above)" in text


def test_export_shows_no_other_org(world: dict[str, Any]) -> None:
    a, b, alice = world["a"], world["b"], world["alice"]
    own = export(a, token=alice)
    assert len(own) == 1 and own[0]["end_user_id"] == ""
    named = export(a, "--include-end-user", token=alice)
    assert len(named) == 3
    org_b_id = export(b, "--org", b.org)[0]["org_id"]
    assert all(r["org_id"] != org_b_id and r["user_agent"] != ORG_B_AGENT for r in named)
    assert {r["token_id"] for r in named if r["end_user_id"]} == {world["ops_token_id"]}


ABSENT = "nobody-" + uuid.uuid4().hex[:6]


def scopes(world: dict[str, Any]) -> list[tuple[tuple[str, ...], tuple[str, ...], str, str]]:
    """(flags naming an existing scope of org B, flags naming a missing one, existing name, missing name)."""
    b = world["b"]
    return [
        (
            ("--user", world["bob_email"]),
            ("--user", f"{ABSENT}@{b.org}.test"),
            world["bob_email"],
            f"{ABSENT}@{b.org}.test",
        ),
        (("--org", b.org), ("--org", ABSENT), b.org, ABSENT),
        (("--team", "billing", "--org", b.org), ("--team", ABSENT, "--org", b.org), "billing", ABSENT),
        (("--token-id", world["svc1_token_id"]), ("--token-id", ABSENT), world["svc1_token_id"], ABSENT),
    ]


@pytest.mark.parametrize("verb", [(), ("export",)])
def test_other_tenants_scopes_answer_as_missing_ones(world: dict[str, Any], verb: tuple[str, ...]) -> None:
    a, alice = world["a"], world["alice"]
    for existing, missing, existing_name, missing_name in scopes(world):
        for token in (alice, world["boss"]):
            seen = a.cli("usage", *verb, "--since", "1h", *existing, token=token, check=False)
            absent = a.cli("usage", *verb, "--since", "1h", *missing, token=token, check=False)
            assert seen.returncode == absent.returncode == 1, (seen.stderr, absent.stderr)
            assert seen.stderr.replace(existing_name, "X") == absent.stderr.replace(missing_name, "X")
            assert "not found" in seen.stderr and world["bob_email"] not in seen.stderr.replace(existing_name, "")


def test_a_denied_usage_lookup_names_nobody(world: dict[str, Any]) -> None:
    a, alice = world["a"], world["alice"]
    denied = a.cli("usage", "--since", "1h", "--token-id", world["carl_token_id"], token=alice, check=False)
    assert denied.returncode == 1 and "permission denied" in denied.stderr
    assert world["carl_email"] not in denied.stderr and "carl" not in denied.stderr
