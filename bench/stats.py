"""Per-scenario summaries: pooled percentiles, paired added latency, CPU per request, targets."""

from __future__ import annotations

import dataclasses
import statistics

from bench.loadgen import JobResult


def pct(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default); NaN for no data."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclasses.dataclass
class Run:
    """One job against one target in one round."""

    target: str  # "direct" | "gateway"
    round: int
    result: JobResult
    server_cpu_s: float  # CPU of the target's process tree during the job (gateway or upstream)
    upstream_cpu_s: float  # CPU of the fake upstream during the job

    def per_request_ms(self, cpu_s: float) -> float:
        return cpu_s / self.result.ok * 1000 if self.result.ok else float("nan")

    @property
    def rps(self) -> float:
        return self.result.ok / self.result.wall_s if self.result.wall_s else 0.0


@dataclasses.dataclass
class Row:
    scenario: str
    concurrency: int
    runs: list[Run] = dataclasses.field(default_factory=list)

    def of(self, target: str) -> list[Run]:
        return [r for r in self.runs if r.target == target]

    def pooled(self, target: str, ttfb: bool = False) -> list[float]:
        out: list[float] = []
        for r in self.of(target):
            out += r.result.ttfb_ms if ttfb else r.result.latencies_ms
        return out

    def added(self, q: float, ttfb: bool = False) -> float:
        """Gateway minus direct percentile, paired within each round, median over rounds."""
        diffs = []
        for g in self.of("gateway"):
            for d in self.of("direct"):
                if d.round == g.round:
                    a = g.result.ttfb_ms if ttfb else g.result.latencies_ms
                    b = d.result.ttfb_ms if ttfb else d.result.latencies_ms
                    diffs.append(pct(a, q) - pct(b, q))
        return _median(diffs)

    def rps(self, target: str) -> float:
        return _median([r.rps for r in self.of(target)])

    def cpu_ms(self, target: str, which: str = "server") -> float:
        """CPU ms per request, over all rounds (sum/sum: the steadiest figure)."""
        runs = self.of(target)
        ok = sum(r.result.ok for r in runs)
        if not ok:
            return float("nan")
        total = sum(
            {"server": r.server_cpu_s, "upstream": r.upstream_cpu_s, "loadgen": r.result.cpu_s}[which] for r in runs
        )
        return total / ok * 1000

    @property
    def failures(self) -> int:
        return sum(r.result.failed for r in self.runs) + sum(r.result.capped for r in self.runs)

    @property
    def errors(self) -> list[str]:
        out: list[str] = []
        for r in self.runs:
            out += [f"{r.target}: {e}" for e in r.result.errors]
            if r.result.capped:
                out.append(f"{r.target}: wall-clock cap reached")
        return out


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    value: float
    limit: float
    upper: bool = True  # value must be <= limit (else >=)

    @property
    def passed(self) -> bool:
        if self.value != self.value:  # NaN: not measured
            return False
        return self.value <= self.limit if self.upper else self.value >= self.limit

    def render(self) -> str:
        op = "≤" if self.upper else "≥"
        return f"{self.name} {self.value:.2f} {op} {self.limit:g}: {'PASS' if self.passed else 'FAIL'}"


# The targets of the benchmark issue; CPU figures are per request, latencies in ms.
CPU_TARGET_MS = {"chat": 1.0, "stream": 2.0, "embed": 1.0}
ADDED_P50_C1_MS = 1.0
ADDED_P99_C1_MS = 3.0
ADDED_TTFB_C1_MS = 1.0
CHAT_RPS_C64 = 1000.0
RSS_GROWTH_MB = 20.0


def checks(row: Row, has_gateway: bool) -> list[Check]:
    if not has_gateway:
        return []
    out = [Check("cpu ms/req", row.cpu_ms("gateway"), CPU_TARGET_MS[row.scenario])]
    if row.concurrency == 1 and row.scenario in ("chat", "embed"):
        out.append(Check("added p50", row.added(50), ADDED_P50_C1_MS))
        out.append(Check("added p99", row.added(99), ADDED_P99_C1_MS))
    if row.concurrency == 1 and row.scenario == "stream":
        out.append(Check("added TTFB p50", row.added(50, ttfb=True), ADDED_TTFB_C1_MS))
    if row.concurrency == 64 and row.scenario == "chat":
        out.append(Check("rps", row.rps("gateway"), CHAT_RPS_C64, upper=False))
    return out
