"""The MCP conformance suite (`@modelcontextprotocol/conformance`, npm) run against server-everything directly
and through the gateway: every scenario must end the same way, check by check, error message by error message.

The suite's scenarios were written for its own fixture server (tools/prompts/resources named `test_*`), which
server-everything does not have, so a fixed part of the suite fails against server-everything even when called
directly; the gateway must neither fix nor break any of it. The scenarios that only need standard MCP behaviour
(handshake, ping, listings, tool errors, logging level, subscriptions, SSE streams) must pass both ways."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.mcp.conftest import endpoint, mcp_config, new_token
from tests.support.bearer_forwarder import bearer_forwarder
from tests.support.gateway import Gateway
from tests.support.mcp_upstreams import RecordingApp

ROOT = Path(__file__).resolve().parents[3]
CONFORMANCE_BIN = ROOT / "node_modules" / ".bin" / "conformance"
_RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")

# Scenarios that test only what server-everything implements; each must pass direct and through the gateway.
MUST_PASS = {
    "server-initialize",
    "ping",
    "logging-set-level",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-error",
    "resources-list",
    "resources-subscribe",
    "resources-unsubscribe",
    "prompts-list",
    "server-sse-multiple-streams",
}

Outcome = list[tuple[str, str, str]]


def run_conformance(url: str, out_dir: Path, scenario: str | None = None) -> dict[str, Outcome]:
    """Every active server scenario (or one) against `url`; per scenario its checks as (id, status, message)."""
    if not CONFORMANCE_BIN.exists():
        raise RuntimeError("run `make` (npm install) first: node_modules/.bin/conformance is missing")
    proc = subprocess.run(
        ["node", str(CONFORMANCE_BIN), "server", "--url", url, "--output-dir", str(out_dir)]
        + (["--scenario", scenario] if scenario else []),
        capture_output=True,
        text=True,
        timeout=90,
        cwd=out_dir,
    )
    results: dict[str, Outcome] = {}
    for directory in out_dir.iterdir():
        match = _RESULT_DIR.match(directory.name)
        if match is None:
            continue
        checks = json.loads((directory / "checks.json").read_text())
        results[match["scenario"]] = sorted(
            (c["id"], c["status"], c.get("errorMessage") or "") for c in checks if c["status"] != "INFO"
        )
    assert results, f"the conformance suite produced no results (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
    return results


def passed(outcome: Outcome) -> bool:
    return bool(outcome) and all(status == "SUCCESS" for _, status, _ in outcome)


@pytest.fixture(scope="module")
def direct(everything: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    return run_conformance(everything, tmp_path_factory.mktemp("conformance-direct"))


def test_conformance_results_are_the_same_through_the_gateway(
    direct: dict[str, Outcome], gateway: Gateway, tmp_path_factory: pytest.TempPathFactory
) -> None:
    token = new_token(gateway)
    with bearer_forwarder(endpoint(gateway, "everything"), token) as url:
        through = run_conformance(url, tmp_path_factory.mktemp("conformance-gateway"))

    assert len(direct) >= 25, sorted(direct)
    assert through == direct
    # No scenario may have failed for a transport reason ("fetch failed", a 4xx/5xx from a proxy) either way.
    for scenario, outcome in direct.items():
        for _, _, message in outcome:
            assert "fetch failed" not in message, (scenario, message)
    assert {s for s, o in direct.items() if passed(o)} >= MUST_PASS, {s: o for s, o in direct.items() if not passed(o)}


def test_a_host_allow_list_makes_the_dns_rebinding_scenario_pass(
    direct: dict[str, Outcome],
    everything: str,
    modern: tuple[str, RecordingApp],
    gateway_db: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """server-everything itself accepts any Host; with MCP_ALLOWED_HOSTS the gateway refuses a rebound one."""
    assert not passed(direct["dns-rebinding-protection"])
    gw = Gateway(
        mcp_config(everything, modern[0], gateway_db),
        tmp_path_factory.mktemp("conformance-strict"),
        env={"MCP_ALLOWED_HOSTS": "127.0.0.1:*"},
    )
    gw.start()
    try:
        with bearer_forwarder(endpoint(gw, "everything"), new_token(gw)) as url:
            result = run_conformance(url, tmp_path_factory.mktemp("conformance-dns"), "dns-rebinding-protection")
    finally:
        gw.stop()
    assert passed(result["dns-rebinding-protection"]), result
