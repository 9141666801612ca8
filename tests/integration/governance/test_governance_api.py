"""GovernanceService and UsageService through the typed client over real gRPC: rate limits updated by field
mask (allow_missing, clearing a dimension), deleted and listed page by page; exclusions created, listed and
deleted by resource name; exclusion policies; and every resource of another org answering NOT_FOUND exactly as
an absent one does."""

from __future__ import annotations

import grpc
import pytest
from aqueduct.v1 import governance_pb2 as gpb
from aqueduct.v1 import governance_service_pb2 as pb
from aqueduct.v1 import user_pb2
from aqueduct_client import AqueductClient
from aqueduct_client.governance_names import exclusion_name, exclusion_policy_name, rate_limit_name, user_scope

from tests.integration.governance.conftest import Tenant
from tests.support.gateway import ADMIN_TOKEN

MEMBER = gpb.RATE_LIMIT_LEVEL_MEMBER


def client(tenant: Tenant, token: str = ADMIN_TOKEN) -> AqueductClient:
    return AqueductClient(tenant.gateway.core_target, token, timeout=30)


async def status_of(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value.code()


async def test_rate_limit_update_mask_allow_missing_delete_and_pages(tenant: Tenant) -> None:
    email, _ = tenant.user("ann")
    org, user = f"orgs/{tenant.org}", user_scope(email)
    async with client(tenant) as c:
        name = rate_limit_name(user)
        assert await status_of(c.update_rate_limit(name, rpm=5)) is grpc.StatusCode.NOT_FOUND
        limit = await c.update_rate_limit(name, rpm=5, output_tpm=100, allow_missing=True)
        assert (limit.name, limit.level, limit.rpm, limit.output_tpm) == (name, MEMBER, 5, 100)
        assert not limit.HasField("input_tpm") and limit.HasField("window")
        # The org's member limit fills in what the user does not set, and says so.
        await c.update_rate_limit(rate_limit_name(org), input_tpm=1000, allow_missing=True)
        limit = await c.update_rate_limit(name, input_tpm=7, clear=["output_tpm"])
        assert (limit.rpm, limit.input_tpm, limit.HasField("output_tpm")) == (5, 7, False)
        limit = await c.update_rate_limit(name, clear=["input_tpm"])
        got = await c.get_rate_limit(name)
        assert got.effective_input_tpm.value == 1000 and got == limit
        assert got.effective_input_tpm.source == gpb.RateLimitSource(level=MEMBER, scope=org)
        assert got.effective_rpm.source == gpb.RateLimitSource(level=MEMBER, scope=user)
        assert not got.effective_output_tpm.HasField("value") and not got.effective_output_tpm.HasField("source")
        await c.delete_rate_limit(name)
        assert await status_of(c.delete_rate_limit(name)) is grpc.StatusCode.NOT_FOUND
        assert (await c.get_rate_limit(name)).effective_rpm == gpb.EffectiveLimit()

        stub = c._governance
        first = await stub.ListRateLimits(pb.ListRateLimitsRequest(parent=org, page_size=1))
        second = await stub.ListRateLimits(pb.ListRateLimitsRequest(parent=org, page_token=first.next_page_token))
        assert [r.name for r in [*first.rate_limits, *second.rate_limits]] == [
            f"{org}/rateLimits/member",
            f"{org}/rateLimits/total",
        ]
        assert first.next_page_token and not second.next_page_token
        bad = stub.ListRateLimits(pb.ListRateLimitsRequest(parent=org, page_size=-1))
        assert await status_of(bad) is grpc.StatusCode.INVALID_ARGUMENT
        too_big = gpb.RateLimit(name=rate_limit_name(org), rpm=2**40)
        request = pb.UpdateRateLimitRequest(rate_limit=too_big, allow_missing=True)
        assert await status_of(stub.UpdateRateLimit(request)) is grpc.StatusCode.INVALID_ARGUMENT


async def test_exclusions_and_policy_by_resource_name(tenant: Tenant) -> None:
    email, _ = tenant.user("ann")
    user = user_scope(email)
    async with client(tenant) as c:
        targets = ["vendor/model-a", "main", "other"]
        for target in targets:
            created = await c.create_exclusion(user, gpb.EXCLUSION_KIND_MODEL, target)
            assert created.name == exclusion_name(user, gpb.EXCLUSION_KIND_MODEL, target)
            assert created.create_time.seconds > 0
        again = c.create_exclusion(user, gpb.EXCLUSION_KIND_MODEL, "main")
        assert await status_of(again) is grpc.StatusCode.ALREADY_EXISTS
        await c.create_exclusion(user, gpb.EXCLUSION_KIND_MCP_SERVER, "github")
        stub = c._governance
        first = await stub.ListExclusions(pb.ListExclusionsRequest(parent=user, page_size=3))
        rest = await stub.ListExclusions(pb.ListExclusionsRequest(parent=user, page_token=first.next_page_token))
        listed = [e.target for e in [*first.exclusions, *rest.exclusions]]
        assert listed == ["github", "main", "other", "vendor/model-a"] and not rest.next_page_token
        assert listed == [e.target for e in await c.list_exclusions(user)]
        await c.delete_exclusion(exclusion_name(user, gpb.EXCLUSION_KIND_MODEL, "vendor/model-a"))

        policy_name = exclusion_policy_name(user)
        policy = await c.update_exclusion_policy(policy_name, merge_models=False)
        assert (policy.merge_models, policy.merge_mcp_servers) == (False, True)
        assert list(policy.effective_excluded_models) == ["main", "other"]  # no global list without merging
        assert list(policy.effective_excluded_mcp_servers) == ["github"]
        policy = await c.update_exclusion_policy(policy_name, merge_models=True)
        assert "global-hidden" in policy.effective_excluded_models
        assert policy == await c.get_exclusion_policy(policy_name)


async def test_another_orgs_resources_are_not_found_like_absent_ones(tenant: Tenant) -> None:
    """An org-admin of another org probes this tenant's names: the answers are those of names that do not
    exist, code and message alike."""
    email, _ = tenant.user("ann")
    other = Tenant(tenant.gateway, f"{tenant.org}x")
    tenant.cli("org", "create", other.org)
    _, intruder = other.user("boss", role=user_pb2.ROLE_ORG_ADMIN)
    real, fake = user_scope(email), user_scope(f"nobody@{tenant.org}.test")
    calls = {
        "GetRateLimit": lambda c, s: c.get_rate_limit(rate_limit_name(s)),
        "ListRateLimits": lambda c, s: c.list_rate_limits(s),
        "UpdateRateLimit": lambda c, s: c.update_rate_limit(rate_limit_name(s), rpm=1, allow_missing=True),
        "DeleteRateLimit": lambda c, s: c.delete_rate_limit(rate_limit_name(s)),
        "CreateExclusion": lambda c, s: c.create_exclusion(s, gpb.EXCLUSION_KIND_MODEL, "x"),
        "DeleteExclusion": lambda c, s: c.delete_exclusion(exclusion_name(s, gpb.EXCLUSION_KIND_MODEL, "x")),
        "ListExclusions": lambda c, s: c.list_exclusions(s),
        "GetExclusionPolicy": lambda c, s: c.get_exclusion_policy(exclusion_policy_name(s)),
        "UpdateExclusionPolicy": lambda c, s: c.update_exclusion_policy(exclusion_policy_name(s), merge_models=False),
        "GetUsageReport": lambda c, s: c.get_usage_report(s),
    }
    async with client(tenant, intruder) as c:
        for method, call in calls.items():
            answers = []
            for scope in (real, fake):
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await call(c, scope)
                answers.append((caught.value.code(), (caught.value.details() or "").replace(scope, "SCOPE")))
            assert answers[0] == answers[1], method
            assert answers[0][0] is grpc.StatusCode.NOT_FOUND, method
