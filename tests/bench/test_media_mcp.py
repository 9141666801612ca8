"""The media/MCP benchmark runs end to end with tiny counts (its figures are not asserted: it measures)."""

from __future__ import annotations

import pytest

from bench import media_mcp
from bench.stats import Check


def test_smoke_run_prints_every_target_with_a_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    assert media_mcp.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.endswith(("PASS", "FAIL"))]
    names = [
        "transcription 25 MiB upload",
        "speech: added time to first audio byte",
        "speech: gateway CPU per MiB",
        "images: gateway CPU per request",
        "MCP tools/call echo: added p50",
        "MCP tools/call echo: added p99",
        "MCP: gateway CPU per proxied call",
        "MCP progress notification",
    ]
    for name in names:
        assert any(row.startswith(name) for row in rows), f"{name!r} missing from:\n{out}"
    assert "load average after" in out


def test_render_marks_unmeasured_as_fail() -> None:
    table = media_mcp.render([Check("a", 0.5, 1.0), Check("b", float("nan"), 1.0), Check("c", 2.0, 1.0)])
    verdicts = [line.split()[-1] for line in table.splitlines()[2:]]
    assert verdicts == ["PASS", "FAIL", "FAIL"]
