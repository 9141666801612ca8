"""Usage reporting through the CLI after real requests: totals and group-bys match what was sent, users see
their own usage (never requests that merely name them in `user_id`), org-admins their org, and export
streams the raw records as CSV or JSON lines."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx2
from aqueduct.v1 import user_pb2

from tests.integration.governance.conftest import MESSAGES, Tenant, sdk
from tests.support.waiting import wait_until

ORG_ADMIN = user_pb2.ROLE_ORG_ADMIN


def report(tenant: Tenant, *args: str, token: str | None = None) -> dict[str, Any]:
    argv = ("usage", "--since", "1h", *args, "--json")
    data: dict[str, Any] = json.loads((tenant.cli(*argv, token=token) if token else tenant.cli(*argv)).stdout)
    return data


def wait_for(tenant: Tenant, expected: int, *args: str) -> dict[str, Any]:
    """The report once the batched usage writer has flushed at least `expected` requests."""

    def flushed() -> dict[str, Any] | None:
        data = report(tenant, *args)
        return data if data["totals"]["requests"] >= expected else None

    return wait_until(flushed, interval=0.1, what=f"{expected} requests in the usage report")


def test_totals_group_bys_and_visibility(tenant: Tenant) -> None:
    ann_email, ann = tenant.user("ann")
    bob_email, bob = tenant.user("bob")
    _, boss = tenant.user("boss", role=ORG_ADMIN)
    oc = sdk(tenant.gateway, ann)
    answers = [oc.chat.completions.create(model="chat-model", messages=MESSAGES) for _ in range(3)]
    oc.chat.completions.create(model="main", messages=MESSAGES, extra_body={"user_id": "student-7"})
    oc.embeddings.create(model="embed-model", input="hi")
    failed = httpx2.post(
        tenant.gateway.v1 + "/chat/completions",
        headers={"Authorization": f"Bearer {ann}"},
        json={"model": "chat-model", "messages": MESSAGES, "x_fake": {"status": 503}},
    )
    assert failed.status_code == 503
    # bob works for ann: his request names her as the end user.
    sdk(tenant.gateway, bob).chat.completions.create(
        model="other", messages=MESSAGES, extra_body={"user_id": ann_email}
    )

    data = wait_for(tenant, 7, "--org", tenant.org)
    totals = data["totals"]
    assert totals["requests"] == 7 and totals["failed_requests"] == 1
    chat_in = sum(a.usage.prompt_tokens for a in answers if a.usage)
    assert (
        totals["input_tokens"] >= chat_in and totals["total_tokens"] == totals["input_tokens"] + totals["output_tokens"]
    )
    assert totals["avg_latency_ms"] is not None and totals["p95_latency_ms"] is not None

    by_model = {g["key"]: g["requests"] for g in report(tenant, "--org", tenant.org, "--group-by", "model")["groups"]}
    assert by_model == {"chat-model": 5, "embed-model": 1, "other-model": 1}
    by_user = {g["label"]: g["requests"] for g in report(tenant, "--org", tenant.org, "--group-by", "user")["groups"]}
    assert by_user == {ann_email: 6, bob_email: 1}
    by_end_user = report(tenant, "--org", tenant.org, "--group-by", "user_id")["groups"]
    assert {g["key"]: g["requests"] for g in by_end_user} == {"": 5, "student-7": 1, ann_email: 1}
    by_status = report(tenant, "--org", tenant.org, "--group-by", "status")["groups"]
    assert {g["key"]: g["requests"] for g in by_status} == {"200": 6, "503": 1}
    by_endpoint = report(tenant, "--org", tenant.org, "--group-by", "endpoint")["groups"]
    assert {g["key"] for g in by_endpoint} == {"POST /v1/chat/completions", "POST /v1/embeddings"}
    series = report(tenant, "--org", tenant.org, "--bucket", "minute")["series"]
    assert sum(p["requests"] for p in series) == 7

    # ann sees her own 6, not bob's request naming her (it is bob's usage, and his personal token is no
    # service account of a team of hers); bob only his; the org-admin the whole org.
    assert report(tenant, token=ann)["totals"]["requests"] == 6
    assert report(tenant, "--include-end-user", token=ann)["end_user_totals"]["requests"] == 0
    assert report(tenant, token=bob)["totals"]["requests"] == 1
    assert report(tenant, "--org", tenant.org, token=boss)["totals"]["requests"] == 7
    denied = tenant.cli("usage", "--user", bob_email, token=ann, check=False)
    assert denied.returncode != 0 and "permission denied" in denied.stderr


def test_export_csv_and_jsonl(tenant: Tenant) -> None:
    email, ann = tenant.user("ann")
    oc = sdk(tenant.gateway, ann)
    for i in range(3):
        oc.chat.completions.create(model="chat-model", messages=MESSAGES, extra_body={"user_id": f"s{i}"})
    wait_for(tenant, 3, "--user", email)
    lines = tenant.cli("usage", "export", "--user", email, "--since", "1h", "--format", "jsonl").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["end_user_id"] for r in records] == ["s0", "s1", "s2"]
    assert all(r["status"] == 200 and r["model"] == "chat-model" for r in records)
    text = tenant.cli("usage", "export", "--user", email, "--since", "1h", "--format", "csv", token=ann).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["end_user_id"] for r in rows] == ["s0", "s1", "s2"] and rows[0]["request_id"]
