"""Renders results as a markdown section and splices it into docs/benchmarks.md."""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import re
from pathlib import Path

from bench.stats import RSS_GROWTH_MB, Check, Row, checks, pct

SCENARIO_TITLES = {"chat": "chat (non-stream)", "stream": "chat stream (20 chunks)", "embed": "embeddings"}


@dataclasses.dataclass
class LeakResult:
    requests: int
    rss_start_mb: float  # after warm-up
    rss_end_mb: float
    rss_peak_mb: float
    samples_mb: list[float]

    @property
    def check(self) -> Check:
        return Check("RSS growth MB", self.rss_end_mb - self.rss_start_mb, RSS_GROWTH_MB)


@dataclasses.dataclass
class Report:
    backend: str
    command: str
    rows: list[Row]
    has_gateway: bool
    notes: list[str]
    peak_rss_mb: float = float("nan")
    leak: LeakResult | None = None

    @property
    def all_checks(self) -> list[Check]:
        out = [c for r in self.rows for c in checks(r, self.has_gateway)]
        if self.leak:
            out.append(self.leak.check)
        return out

    @property
    def failures(self) -> int:
        return sum(r.failures for r in self.rows)


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def _f(v: float, digits: int = 2) -> str:
    return "–" if v != v else f"{v:.{digits}f}"


def _triple(values: list[float]) -> str:
    return " / ".join(_f(pct(values, q)) for q in (50, 90, 99)) if values else "–"


def table(rep: Report) -> str:
    head = (
        "| scenario | c | direct p50/p90/p99 ms | gateway p50/p90/p99 ms | added p50 / p99 ms "
        "| TTFB p50 direct / gw / added ms | rps direct / gw | gw CPU ms/req | upstream CPU ms/req "
        "| loadgen CPU ms/req | errors | targets |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rep.rows:
        gw = rep.has_gateway
        ttfb = "–"
        if r.scenario == "stream":
            d = pct(r.pooled("direct", ttfb=True), 50)
            g = pct(r.pooled("gateway", ttfb=True), 50)
            ttfb = f"{_f(d)} / {_f(g)} / {_f(r.added(50, ttfb=True))}" if gw else _f(d)
        targets = "; ".join(c.render() for c in checks(r, gw)) or "–"
        lines.append(
            f"| {SCENARIO_TITLES[r.scenario]} | {r.concurrency} | {_triple(r.pooled('direct'))} "
            f"| {_triple(r.pooled('gateway'))} | {_f(r.added(50))} / {_f(r.added(99))} | {ttfb} "
            f"| {r.rps('direct'):.0f} / {_f(r.rps('gateway'), 0)} | {_f(r.cpu_ms('gateway'), 3)} "
            f"| {_f(r.cpu_ms('direct'), 3)} | {_f(r.cpu_ms('direct', 'loadgen'), 3)} "
            f"| {r.failures} | {targets} |"
        )
    return "\n".join(lines)


def render(rep: Report) -> str:
    m = machine()
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"### Backend: {rep.backend}",
        "",
        f"- date: {now}",
        f"- machine: {m['nproc']} CPUs, {m['cpu']}, Linux {m['kernel']}, Python {m['python']}",
        f"- command: `{rep.command}`",
    ]
    out += [f"- {n}" for n in rep.notes]
    if rep.has_gateway:
        out.append(f"- gateway peak RSS (sum of VmHWM over its processes): {_f(rep.peak_rss_mb, 1)} MB")
    out += ["", table(rep), ""]
    if rep.leak:
        lk = rep.leak
        out += [
            f"Leak run: {lk.requests} non-streaming chat requests at c=16 after warm-up: "
            f"RSS {lk.rss_start_mb:.1f} MB → {lk.rss_end_mb:.1f} MB (peak {lk.rss_peak_mb:.1f} MB); "
            f"{lk.check.render()}.",
            "",
            "RSS samples (MB): " + ", ".join(f"{s:.1f}" for s in lk.samples_mb),
            "",
        ]
    errs = [e for r in rep.rows for e in r.errors]
    if errs:
        out += ["Validation errors (first few):", ""] + [f"- `{e[:300]}`" for e in errs[:10]] + [""]
    checks_ = rep.all_checks
    if checks_:
        passed = sum(c.passed for c in checks_)
        out.append(f"Targets: {passed}/{len(checks_)} pass.")
    return "\n".join(out) + "\n"


def write_docs(path: Path, backend: str, section: str) -> None:
    """Replaces this backend's section between its markers, keeping the rest of the file."""
    start, end = f"<!-- bench:results:{backend} -->", f"<!-- /bench:results:{backend} -->"
    block = f"{start}\n{section}{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
