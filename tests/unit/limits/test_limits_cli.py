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


LIMIT = gpb.RateLimit(
    level=gpb.RATE_LIMIT_LEVEL_MEMBER,
    subject="user a@x.io",
    limits=gpb.RateLimitValues(rpm=5),
    rpm_source="org acme's per-member limit",
    window=gpb.RateLimitWindow(used_requests=2, used_input_tokens=10, reset_ms=1500),
)


def test_limits_set_sends_only_given_dimensions(capsys: pytest.CaptureFixture[str]) -> None:
    stub = FakeStub(SetRateLimit=pb.SetRateLimitResponse(scope="org acme", limits=[LIMIT]))
    assert run(stub, "limits", "set", "--org", "acme", "--total", "--rpm", "5", "--output-tpm", "0", "--json") == 0
    request = stub.requests["SetRateLimit"][0]
    assert (request.scope.org, request.total) == ("acme", True)
    assert request.limits.rpm == 5 and request.limits.output_tpm == 0 and not request.limits.HasField("input_tpm")
    [row] = json.loads(capsys.readouterr().out)
    assert row["level"] == "member" and row["rpm"] == 5 and row["input_tpm"] is None and row["used_requests"] == 2


def test_limits_show_table_and_scope_checks(capsys: pytest.CaptureFixture[str]) -> None:
    stub = FakeStub(GetRateLimits=pb.GetRateLimitsResponse(scope="user a@x.io", limits=[LIMIT]))
    run(stub, "limits", "show", "--token-id", "tok1")
    assert stub.requests["GetRateLimits"][0].scope.token_id == "tok1"
    assert "LEVEL" in capsys.readouterr().out
    for argv in (
        ["limits", "show"],
        ["limits", "show", "--org", "a", "--user", "b@c.d"],
        ["limits", "show", "--team", "t"],
    ):
        with pytest.raises(CliError) as caught:
            run(stub, *argv)
        assert caught.value.exit_code == 2
    with pytest.raises(CliError):
        run(FakeStub(), "limits", "set", "--user", "a@x.io")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["limits", "set", "--user", "a@x.io", "--rpm", "-1"])


def test_exclusions_verbs(capsys: pytest.CaptureFixture[str]) -> None:
    lists = [gpb.ExclusionList(kind=gpb.EXCLUSION_KIND_MODEL, names=["gpt"], merge=False, effective_names=["gpt"])]
    stub = FakeStub(
        AddExclusion=pb.AddExclusionResponse(scope="team eng (org acme)", lists=lists),
        SetExclusionMerge=pb.SetExclusionMergeResponse(scope="user a@x.io", lists=lists),
        GetExclusions=pb.GetExclusionsResponse(scope="org acme", lists=lists),
    )
    run(stub, "exclusions", "add", "--team", "eng", "--org", "acme", "--mcp-server", "github")
    add = stub.requests["AddExclusion"][0]
    assert (add.scope.team, add.kind, add.name) == ("eng", gpb.EXCLUSION_KIND_MCP_SERVER, "github")
    run(stub, "exclusions", "merge", "--user", "a@x.io", "off")
    merge = stub.requests["SetExclusionMerge"][0]
    assert (merge.kind, merge.merge) == (gpb.EXCLUSION_KIND_UNSPECIFIED, False)
    run(stub, "exclusions", "merge", "--user", "a@x.io", "on", "--kind", "model")
    assert stub.requests["SetExclusionMerge"][1].kind == gpb.EXCLUSION_KIND_MODEL
    capsys.readouterr()
    run(stub, "exclusions", "show", "--org", "acme", "--json")
    assert json.loads(capsys.readouterr().out) == [
        {"kind": "model", "names": "gpt", "merge": False, "effective_names": "gpt"}
    ]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["exclusions", "add", "--org", "acme"])  # --model or --mcp-server required
