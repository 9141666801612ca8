"""The limits and exclusions verbs against a fake GovernanceService stub: requests sent, scope checks, output."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from aqueduct.v1 import governance_pb2 as gpb
from aqueduct.v1 import governance_service_pb2 as pb
from aqueduct_client.cli._errors import CliError
from aqueduct_client.cli.main import build_parser


class FakeStub:
    def __init__(self, **responses: Any) -> None:
        self.requests: dict[str, list[Any]] = defaultdict(list)
        self._responses = responses

    def __getattr__(self, method: str) -> Any:
        if not method[:1].isupper():
            raise AttributeError(method)

        def call(request: Any, **_: Any) -> Any:
            self.requests[method].append(request)
            return self._responses[method]

        return call


def run(stub: FakeStub, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    status: int = args.service_handler(args, stub)
    return status


def source(level: gpb.RateLimitLevel.ValueType, scope: str) -> gpb.RateLimitSource:
    return gpb.RateLimitSource(level=level, scope=scope)


USER_LIMIT = gpb.RateLimit(
    name="users/a@x.io/rateLimits/member",
    level=gpb.RATE_LIMIT_LEVEL_MEMBER,
    effective_rpm=gpb.EffectiveLimit(value=5, source=source(gpb.RATE_LIMIT_LEVEL_MEMBER, "orgs/acme")),
    effective_output_tpm=gpb.EffectiveLimit(value=9, source=source(gpb.RATE_LIMIT_LEVEL_MEMBER, "users/a@x.io")),
    output_tpm=9,
    window=gpb.RateLimitWindow(used_requests=2, used_input_tokens=10, reset_ms=1500),
)
ORG_TOTAL = gpb.RateLimit(
    name="orgs/acme/rateLimits/total",
    level=gpb.RATE_LIMIT_LEVEL_ORG_POOL,
    rpm=5,
    effective_rpm=gpb.EffectiveLimit(value=5, source=source(gpb.RATE_LIMIT_LEVEL_ORG_POOL, "orgs/acme")),
)


def test_limits_set_updates_only_given_dimensions_and_shows_the_scope(capsys: pytest.CaptureFixture[str]) -> None:
    stub = FakeStub(
        UpdateRateLimit=pb.UpdateRateLimitResponse(rate_limit=ORG_TOTAL),
        ListRateLimits=pb.ListRateLimitsResponse(rate_limits=[ORG_TOTAL]),
    )
    assert run(stub, "limits", "set", "--org", "acme", "--total", "--rpm", "5", "--output-tpm", "0", "--json") == 0
    request = stub.requests["UpdateRateLimit"][0]
    assert request.rate_limit.name == "orgs/acme/rateLimits/total" and request.allow_missing
    assert sorted(request.update_mask.paths) == ["output_tpm", "rpm"]
    assert request.rate_limit.rpm == 5 and request.rate_limit.output_tpm == 0
    assert not request.rate_limit.HasField("input_tpm")
    assert stub.requests["ListRateLimits"][0].parent == "orgs/acme"
    [row] = json.loads(capsys.readouterr().out)
    assert row["name"] == "orgs/acme/rateLimits/total" and row["pool"] and row["level"] == "org total"
    assert row["subject"] == "all of org acme" and row["rpm_source"] == "org acme's total"


def test_limits_show_renders_sources_and_windows(capsys: pytest.CaptureFixture[str]) -> None:
    stub = FakeStub(ListRateLimits=pb.ListRateLimitsResponse(rate_limits=[USER_LIMIT]))
    run(stub, "limits", "show", "--user", "a@x.io", "--json")
    [row] = json.loads(capsys.readouterr().out)
    assert row["subject"] == "user a@x.io" and row["rpm"] == 5 and row["input_tpm"] is None
    assert row["rpm_source"] == "org acme's per-member limit" and row["rpm_source_scope"] == "orgs/acme"
    assert row["output_tpm_source"] == "user a@x.io's own limit" and row["input_tpm_source"] is None
    assert row["used_requests"] == 2 and row["reset_ms"] == 1500
    run(stub, "limits", "show", "--token-id", "tok1")
    assert stub.requests["ListRateLimits"][1].parent == "tokens/tok1"
    captured = capsys.readouterr()
    assert "LEVEL" in captured.out and "limits of user a@x.io:" not in captured.err
    assert "limits of token tok1:" in captured.err


def test_limits_clear_and_scope_checks(capsys: pytest.CaptureFixture[str]) -> None:
    stub = FakeStub(DeleteRateLimit=pb.DeleteRateLimitResponse())
    run(stub, "limits", "clear", "--team", "eng", "--org", "acme", "--total")
    run(stub, "limits", "clear", "--token-id", "tok1")
    assert [r.name for r in stub.requests["DeleteRateLimit"]] == [
        "orgs/acme/teams/eng/rateLimits/total",
        "tokens/tok1/rateLimits/token",
    ]
    for argv in (
        ["limits", "show"],
        ["limits", "show", "--org", "a", "--user", "b@c.d"],
        ["limits", "show", "--team", "t"],
        ["limits", "show", "--org", "a/teams/b"],
    ):
        with pytest.raises(CliError) as caught:
            run(stub, *argv)
        assert caught.value.exit_code == 2
    with pytest.raises(CliError):
        run(FakeStub(), "limits", "set", "--user", "a@x.io")


@pytest.mark.parametrize("value", ["-1", "1e20", "99999999999999999999", "2147483648"])
def test_limits_values_out_of_range_are_usage_errors(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["limits", "set", "--user", "a@x.io", f"--rpm={value}"])
    assert caught.value.code == 2
    assert "--rpm" in capsys.readouterr().err


def test_exclusions_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    policy = gpb.ExclusionPolicy(
        name="orgs/acme/exclusionPolicy",
        merge_models=False,
        merge_mcp_servers=True,
        effective_excluded_models=["gpt", "meta/llama"],
    )
    exclusions = [
        gpb.Exclusion(name="orgs/acme/exclusions/model.gpt", kind=gpb.EXCLUSION_KIND_MODEL, target="gpt"),
        gpb.Exclusion(
            name="orgs/acme/exclusions/model.meta%2Fllama", kind=gpb.EXCLUSION_KIND_MODEL, target="meta/llama"
        ),
    ]
    stub = FakeStub(
        CreateExclusion=pb.CreateExclusionResponse(),
        DeleteExclusion=pb.DeleteExclusionResponse(),
        UpdateExclusionPolicy=pb.UpdateExclusionPolicyResponse(exclusion_policy=policy),
        GetExclusionPolicy=pb.GetExclusionPolicyResponse(exclusion_policy=policy),
        ListExclusions=pb.ListExclusionsResponse(exclusions=exclusions),
    )
    run(stub, "exclusions", "add", "--team", "eng", "--org", "acme", "--mcp-server", "github")
    add = stub.requests["CreateExclusion"][0]
    assert add.parent == "orgs/acme/teams/eng"
    assert (add.exclusion.kind, add.exclusion.target) == (gpb.EXCLUSION_KIND_MCP_SERVER, "github")
    run(stub, "exclusions", "remove", "--org", "acme", "--model", "meta/llama")
    assert stub.requests["DeleteExclusion"][0].name == "orgs/acme/exclusions/model.meta%2Fllama"
    run(stub, "exclusions", "merge", "--user", "a@x.io", "off")
    merge = stub.requests["UpdateExclusionPolicy"][0]
    assert merge.exclusion_policy.name == "users/a@x.io/exclusionPolicy"
    assert sorted(merge.update_mask.paths) == ["merge_mcp_servers", "merge_models"]
    assert not merge.exclusion_policy.merge_models and not merge.exclusion_policy.merge_mcp_servers
    run(stub, "exclusions", "merge", "--user", "a@x.io", "on", "--kind", "model")
    second = stub.requests["UpdateExclusionPolicy"][1]
    assert list(second.update_mask.paths) == ["merge_models"] and second.exclusion_policy.merge_models
    capsys.readouterr()
    run(stub, "exclusions", "show", "--org", "acme", "--json")
    assert stub.requests["GetExclusionPolicy"][-1].name == "orgs/acme/exclusionPolicy"
    assert json.loads(capsys.readouterr().out) == [
        {"kind": "model", "names": "gpt, meta/llama", "merge": False, "effective_names": "gpt, meta/llama"},
        {"kind": "mcp-server", "names": "", "merge": True, "effective_names": ""},
    ]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["exclusions", "add", "--org", "acme"])  # --model or --mcp-server required
