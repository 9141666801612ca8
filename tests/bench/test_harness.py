"""The benchmark harness' own pieces: validators, statistics, docs splicing, load generator."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bench import loadgen, procstat, report, run
from bench.loadgen import Job, JobResult
from bench.stats import Check, Row, Run, pct
from tests.support.fake_upstream import FakeUpstream


def test_pct_interpolates_like_numpy() -> None:
    assert pct([1, 2, 3, 4], 50) == 2.5
    assert pct([5.0], 99) == 5.0
    assert pct([], 50) != pct([], 50)  # NaN


def _run(target: str, rnd: int, lat: list[float]) -> Run:
    return Run(target, rnd, JobResult(latencies_ms=lat, ttfb_ms=lat, ok=len(lat), wall_s=1.0, cpu_s=0.1), 0.2, 0.1)


def test_added_latency_is_paired_per_round() -> None:
    row = Row("chat", 1, [_run("direct", 0, [1, 1]), _run("gateway", 0, [2, 2]),
                          _run("gateway", 1, [9, 9]), _run("direct", 1, [5, 5])])  # fmt: skip
    assert row.added(50) == 2.5  # median of (1, 4)
    assert row.cpu_ms("gateway") == pytest.approx(100.0)  # 0.4 s over 4 requests
    assert row.rps("direct") == 2.0


def test_check_rendering() -> None:
    assert Check("cpu", 0.5, 1.0).passed and not Check("rps", 900, 1000, upper=False).passed
    assert not Check("x", float("nan"), 1.0).passed
    assert "FAIL" in Check("rps", 900, 1000, upper=False).render()


@pytest.mark.parametrize(
    ("scenario", "status", "body", "ok"),
    [
        ("chat", 200, orjson.dumps({"choices": [{"message": {"content": "x"}}], "usage": {"total_tokens": 3}}), True),
        ("chat", 200, orjson.dumps({"choices": [{"message": {"content": "x"}}]}), False),
        ("chat", 500, b"{}", False),
        ("embed", 200, orjson.dumps({"data": [{"embedding": "AAAA"}], "usage": {"prompt_tokens": 1}}), True),
        ("stream", 200, b'data: {"choices":[{}]}\n\ndata: {"choices":[],"usage":{"total_tokens":2}}\n\n'
         b"data: [DONE]\n\n", False),  # too short: no finish chunk
        ("stream", 200, b'data: {"choices":[{}]}\n\ndata: {"choices":[{}]}\n\n'
         b'data: {"choices":[],"usage":{"total_tokens":2}}\n\ndata: [DONE]\n\n', True),
        ("stream", 200, b'data: {"choices":[{}]}\n\ndata: {"choices":[{}]}\n\ndata: [DONE]\n\n', False),
        ("stream", 200, b'data: {"choices":[{}]}\n\n', False),
    ],
)  # fmt: skip
def test_validators(scenario: str, status: int, body: bytes, ok: bool) -> None:
    assert (loadgen.VALIDATORS[scenario](status, body) is None) == ok


def test_write_docs_replaces_only_its_section(tmp_path: Path) -> None:
    doc = tmp_path / "b.md"
    doc.write_text("# B\n\nintro\n")
    report.write_docs(doc, "sqlite", "one\n")
    report.write_docs(doc, "pg", "two\n")
    report.write_docs(doc, "sqlite", "three\n")
    text = doc.read_text()
    assert text.startswith("# B\n\nintro\n") and "three" in text and "two" in text and "one" not in text


def test_procstat_sees_own_process() -> None:
    import os

    s = procstat.sample(os.getpid())
    assert s.cpu_s > 0 and s.rss_bytes > 0 and os.getpid() in s.pids


@pytest.mark.parametrize("scenario", ["chat", "stream", "embed"])
def test_loadgen_against_fake(upstream: FakeUpstream, scenario: str) -> None:
    path, body = run.SCENARIOS[scenario]
    res = loadgen.run_job_sync(Job("127.0.0.1", upstream.port, path, body, "Bearer x", scenario, 50, 4, 10))
    assert (res.ok, res.failed, res.capped, res.errors) == (50, 0, False, [])
    assert len(res.latencies_ms) == 50
    assert all(0 < t <= lat for t, lat in zip(res.ttfb_ms, res.latencies_ms, strict=True))


def test_loadgen_counts_failures(upstream: FakeUpstream) -> None:
    path, body = run.SCENARIOS["chat"]
    res = loadgen.run_job_sync(Job("127.0.0.1", upstream.port, path, body, "", "chat", 10, 2, 10))
    assert res.failed == 10 and res.ok == 0 and "status 401" in res.errors[0]


def test_smoke_direct_only_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert run.main(["--smoke", "--direct-only", "--no-docs", "--requests", "20"]) == 0
    out = capsys.readouterr().out
    assert "chat stream (20 chunks)" in out and "| 0 |" in out
