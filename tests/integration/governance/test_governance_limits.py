"""Rate limits through the real SDK and CLI: every level and dimension, inheritance and override, pools vs
per-member, per-model limits and multipliers, exact admission under concurrency, OpenAI's headers on success
and on 429 (with retry-after and a message naming the limit and level), failed upstream calls counted."""

from __future__ import annotations

import asyncio
import json

import httpx2
import openai
import pytest

from tests.integration.governance.conftest import MESSAGES, Tenant, sdk

RATE_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
)


def chat(tenant: Tenant, token: str, model: str = "chat-model", **body: object) -> httpx2.Response:
    return httpx2.post(
        tenant.gateway.v1 + "/chat/completions",
        headers={"Authorization": f"Bearer {token}"},
        json={"model": model, "messages": MESSAGES, **body},
        timeout=30,
    )


def statuses(tenant: Tenant, token: str, n: int, model: str = "chat-model") -> list[int]:
    return [chat(tenant, token, model).status_code for _ in range(n)]


def test_org_member_limit_with_user_override_and_headers(tenant: Tenant) -> None:
    _, ann = tenant.user("ann")
    bob_email, bob = tenant.user("bob")
    tenant.cli("limits", "set", "--org", tenant.org, "--rpm", "2")
    tenant.cli("limits", "set", "--user", bob_email, "--rpm", "3")

    raw = sdk(tenant.gateway, ann).chat.completions.with_raw_response.create(model="chat-model", messages=MESSAGES)
    assert raw.headers["x-ratelimit-limit-requests"] == "2"
    assert raw.headers["x-ratelimit-remaining-requests"] == "1"
    assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
    # One response metadata carries both producers' headers: the limits' and the router's.
    assert (raw.headers["x-aqueduct-model-group"], raw.headers["x-aqueduct-deployment"]) == (
        "chat-model",
        "chat-model#0",
    )
    assert raw.parse().choices

    assert chat(tenant, ann).status_code == 200
    with pytest.raises(openai.RateLimitError) as caught:
        sdk(tenant.gateway, ann).chat.completions.create(model="chat-model", messages=MESSAGES)
    response = caught.value.response
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    message = caught.value.message
    assert "requests per minute" in message and "member level" in message
    assert f"org {tenant.org}'s per-member limit" in message
    # Each member has their own window; bob's own limit overrides the org's.
    assert statuses(tenant, bob, 4) == [200, 200, 200, 429]


def test_token_cap_and_org_pool(tenant: Tenant) -> None:
    ann_email, ann = tenant.user("ann")
    _, bob = tenant.user("bob")
    tenant.cli("limits", "set", "--org", tenant.org, "--total", "--rpm", "3")
    tenant.cli("limits", "set", "--token-id", tenant.token_id(ann_email), "--rpm", "1")
    assert statuses(tenant, ann, 2) == [200, 429]  # the token cap
    assert statuses(tenant, bob, 3) == [200, 200, 429]  # the pool: ann's one request counts for everyone
    reply = chat(tenant, bob)
    assert "org level" in reply.json()["error"]["message"]
    shown = json.loads(tenant.cli("limits", "show", "--org", tenant.org, "--json").stdout)
    pool = next(row for row in shown if row["pool"])
    assert pool["rpm"] == 3 and pool["used_requests"] == 3


def test_team_member_limit_and_team_pool_for_service_accounts(tenant: Tenant) -> None:
    owner, _ = tenant.user("owner")
    team = tenant.team("eng")
    _, bot1 = tenant.service_account(team, owner, "bot1")
    _, bot2 = tenant.service_account(team, owner, "bot2")
    tenant.cli("limits", "set", "--team", team, "--org", tenant.org, "--rpm", "2")
    tenant.cli("limits", "set", "--team", team, "--org", tenant.org, "--total", "--rpm", "3")
    assert statuses(tenant, bot1, 3) == [200, 200, 429]  # per member
    assert statuses(tenant, bot2, 2) == [200, 429]  # the team's total of 3
    assert "team level" in chat(tenant, bot2).json()["error"]["message"]


def test_token_dimensions(tenant: Tenant) -> None:
    email, ann = tenant.user("ann")
    # 20 output tokens per answer (the fake's default); output is counted once known.
    tenant.cli("limits", "set", "--user", email, "--output-tpm", "30", "--input-tpm", "1000")
    first = chat(tenant, ann)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-tokens"] in {"30", "1000"}
    assert chat(tenant, ann).status_code == 200  # 20 < 30 used: room left
    third = chat(tenant, ann)
    assert third.status_code == 429 and "output tokens per minute" in third.json()["error"]["message"]
    assert third.headers["x-ratelimit-remaining-tokens"] == "0"
    # A prompt larger than the input limit can never pass.
    tenant.cli("limits", "set", "--user", email, "--output-tpm", "100000", "--input-tpm", "5")
    big = chat(tenant, ann, messages=[{"role": "user", "content": "word " * 200}])
    assert big.status_code == 429 and "Request too large" in big.json()["error"]["message"]


def test_model_capacity_and_request_multiplier(tenant: Tenant) -> None:
    email, ann = tenant.user("ann")
    _, bob = tenant.user("bob")
    # capped-model has litellm_params.rpm 3 for everyone together. Other tests never call it.
    assert [chat(tenant, t, "capped-model").status_code for t in (ann, bob, ann, bob)] == [200, 200, 200, 429]
    assert "model level" in chat(tenant, bob, "capped-model").json()["error"]["message"]
    # heavy-model's request_limit_multiplier 2: a request counts 1/2 against ann's 2 rpm.
    tenant.cli("limits", "set", "--user", email, "--rpm", "2")
    assert statuses(tenant, ann, 5, "heavy-model") == [200, 200, 200, 200, 429]


def test_failed_upstream_calls_count_and_429s_do_not(tenant: Tenant) -> None:
    email, ann = tenant.user("ann")
    tenant.cli("limits", "set", "--user", email, "--rpm", "2")
    assert chat(tenant, ann, x_fake={"status": 500}).status_code == 500
    assert chat(tenant, ann).status_code == 200
    assert statuses(tenant, ann, 3) == [429, 429, 429]
    shown = json.loads(tenant.cli("limits", "show", "--user", email, "--json").stdout)
    assert shown[0]["used_requests"] == 2  # the rejected ones were never counted


def test_stream_carries_the_headers(tenant: Tenant) -> None:
    email, ann = tenant.user("ann")
    tenant.cli("limits", "set", "--user", email, "--rpm", "5")
    body = {"model": "chat-model", "messages": MESSAGES, "stream": True}
    headers = {"Authorization": f"Bearer {ann}"}
    with httpx2.stream("POST", tenant.gateway.v1 + "/chat/completions", json=body, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["x-ratelimit-remaining-requests"] == "4"
        assert all(h in response.headers for h in RATE_HEADERS)
        assert response.headers["x-aqueduct-deployment"] == "chat-model#0"
        list(response.iter_lines())


def test_exact_admission_under_concurrency(tenant: Tenant) -> None:
    email, ann = tenant.user("ann")
    tenant.cli("limits", "set", "--user", email, "--rpm", "7")

    async def burst() -> list[int]:
        async with httpx2.AsyncClient(timeout=30) as http:
            calls = [
                http.post(
                    tenant.gateway.v1 + "/chat/completions",
                    headers={"Authorization": f"Bearer {ann}"},
                    json={"model": "chat-model", "messages": MESSAGES},
                )
                for _ in range(30)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    codes = asyncio.run(burst())
    assert codes.count(200) == 7 and codes.count(429) == 23


def test_cli_validation_and_clear(tenant: Tenant) -> None:
    email, ann = tenant.user("ann")
    bad = tenant.cli("limits", "set", "--user", email, "--total", "--rpm", "1", check=False)
    assert bad.returncode != 0 and "org or a team" in bad.stderr
    assert tenant.cli("limits", "set", "--user", email, check=False).returncode == 2
    for huge in ("1e20", "99999999999999999999"):
        too_big = tenant.cli("limits", "set", "--user", email, f"--rpm={huge}", check=False)
        assert too_big.returncode == 2 and "--rpm" in too_big.stderr and "Traceback" not in too_big.stderr
    tenant.cli("limits", "set", "--user", email, "--rpm", "1")
    assert statuses(tenant, ann, 2) == [200, 429]
    tenant.cli("limits", "clear", "--user", email)
    assert chat(tenant, ann).status_code == 200
    again = tenant.cli("limits", "clear", "--user", email, check=False)
    assert again.returncode == 1 and "not found" in again.stderr
    # A user may read their own limits but not change them.
    assert tenant.cli("limits", "show", "--user", email, token=ann).returncode == 0
    denied = tenant.cli("limits", "set", "--user", email, "--rpm", "100", token=ann, check=False)
    assert denied.returncode != 0 and "permission denied" in denied.stderr
