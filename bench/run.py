"""Benchmark entry point: ``python -m bench.run [--smoke] [--leak] [--backend sqlite|pg|both]``.

For each scenario and concurrency, jobs of a fixed request count go direct to the fake upstream
and through the gateway in alternation (A B, B A, ...) so drift (thermal, noisy neighbours) hits
both sides alike; the added latency is paired within a round. CPU per request is read from /proc
for the gateway's whole process tree, the fake upstream and the load generator alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from pathlib import Path

import orjson

from bench import procstat
from bench.gateway import CHAT_MODEL, EMBED_MODEL, UPSTREAM_KEY, Gateway, GatewayOptions, find_executable
from bench.loadgen import Job, LoadGenPool
from bench.report import LeakResult, Report, render, write_docs
from bench.stats import Row, Run, pct
from tests.support.fake_upstream import FakeUpstreamProcess

ROOT = Path(__file__).resolve().parent.parent
_MESSAGES = [
    {"role": "system", "content": "You are a benchmark assistant."},
    {"role": "user", "content": "Reply with twenty short tokens, please."},
]
SCENARIOS: dict[str, tuple[str, bytes]] = {
    "chat": (
        "/v1/chat/completions",
        orjson.dumps({"model": CHAT_MODEL, "messages": _MESSAGES, "max_tokens": 64}),
    ),
    "stream": (
        "/v1/chat/completions",
        orjson.dumps(
            {
                "model": CHAT_MODEL,
                "messages": _MESSAGES,
                "max_tokens": 64,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
        ),
    ),
    # base64 is what the OpenAI SDK sends by default
    "embed": (
        "/v1/embeddings",
        orjson.dumps(
            {
                "model": EMBED_MODEL,
                "input": "The quick brown fox jumps over the lazy dog.",
                "encoding_format": "base64",
            }
        ),
    ),
}


@dataclasses.dataclass(frozen=True)
class Plan:
    requests: int
    rounds: int
    warmup: int
    concurrencies: tuple[int, ...]
    scenarios: tuple[str, ...]
    cap_s: float  # wall-clock cap of one job
    fail_fast: bool


SMOKE = Plan(
    requests=40,
    rounds=1,
    warmup=20,
    concurrencies=(1, 16),
    scenarios=("chat", "stream", "embed"),
    cap_s=10,
    fail_fast=True,
)
FULL = Plan(
    requests=2000,
    rounds=4,
    warmup=200,
    concurrencies=(1, 16, 64),
    scenarios=("chat", "stream", "embed"),
    cap_s=120,
    fail_fast=False,
)
LEAK_REQUESTS, LEAK_BATCH, LEAK_WARMUP = 100_000, 10_000, 5_000


@dataclasses.dataclass
class Target:
    name: str
    port: int
    auth: str
    pid: int  # root of the process tree charged for this target's CPU


def _job(t: Target, scenario: str, n: int, c: int, cap_s: float) -> Job:
    path, body = SCENARIOS[scenario]
    return Job("127.0.0.1", t.port, path, body, t.auth, scenario, n, c, cap_s)


def _measure(pool: LoadGenPool, t: Target, upstream_pid: int, job: Job, rnd: int) -> Run:
    s0, u0 = procstat.sample(t.pid), procstat.sample(upstream_pid)
    res = pool.run(job)
    s1, u1 = procstat.sample(t.pid), procstat.sample(upstream_pid)
    return Run(t.name, rnd, res, s1.cpu_s - s0.cpu_s, u1.cpu_s - u0.cpu_s)


def run_matrix(plan: Plan, pool: LoadGenPool, targets: list[Target], upstream_pid: int) -> tuple[list[Row], float]:
    rows: list[Row] = []
    peak_mb = 0.0
    gw = next((t for t in targets if t.name == "gateway"), None)
    for scenario in plan.scenarios:
        for c in plan.concurrencies:
            row = Row(scenario, c)
            rows.append(row)
            for t in targets:
                pool.run(_job(t, scenario, plan.warmup, c, plan.cap_s))
            for rnd in range(plan.rounds):
                order = targets if rnd % 2 == 0 else targets[::-1]
                for t in order:
                    row.runs.append(
                        _measure(pool, t, upstream_pid, _job(t, scenario, plan.requests, c, plan.cap_s), rnd)
                    )
                    if gw is not None:
                        peak_mb = max(peak_mb, procstat.sample(gw.pid).hwm_bytes / 2**20)
            print(
                f"  {scenario:6} c={c:<3} done: "
                + ", ".join(f"{t.name} p50 {_p50(row, t.name):.2f} ms {row.rps(t.name):.0f} rps" for t in targets)
                + (f", {row.failures} failures" if row.failures else ""),
                file=sys.stderr,
                flush=True,
            )
            if plan.fail_fast and row.failures:
                return rows, peak_mb
    return rows, peak_mb


def _p50(row: Row, target: str) -> float:
    return pct(row.pooled(target), 50)


def run_leak(pool: LoadGenPool, gw: Target) -> tuple[LeakResult, Row]:
    row = Row("chat", 16)
    pool.run(_job(gw, "chat", LEAK_WARMUP, 16, 300))
    start = procstat.sample(gw.pid).rss_bytes / 2**20
    samples, peak = [start], start
    for i in range(LEAK_REQUESTS // LEAK_BATCH):
        row.runs.append(Run("gateway", i, pool.run(_job(gw, "chat", LEAK_BATCH, 16, 300)), 0.0, 0.0))
        s = procstat.sample(gw.pid)
        samples.append(s.rss_bytes / 2**20)
        peak = max(peak, s.hwm_bytes / 2**20)
        print(f"  leak {(i + 1) * LEAK_BATCH} requests: RSS {samples[-1]:.1f} MB", file=sys.stderr, flush=True)
    return LeakResult(LEAK_REQUESTS, start, samples[-1], peak, samples), row


def bench_backend(
    args: argparse.Namespace, plan: Plan, backend: str, up: FakeUpstreamProcess, pool: LoadGenPool
) -> Report:
    targets = [Target("direct", up.port, f"Bearer {UPSTREAM_KEY}", up.pid)]
    notes: list[str] = [
        f"plan: {plan.requests} requests × {plan.rounds} rounds per target, warm-up {plan.warmup}, "
        f"load generator processes: {pool.procs}"
    ]
    gateway: Gateway | None = None
    if not args.direct_only:
        gateway = Gateway(
            up.port,
            GatewayOptions(
                backend=backend,
                redis_url=args.redis_url,
                pg_admin_url=args.pg_admin_url,
                executable=args.aqueduct,
                workers=args.workers,
                core_transport=args.core_transport,
            ),
        )
        try:
            gateway.start()
            token = gateway.provision()
        except BaseException:
            print("gateway log tail:\n" + gateway.log_tail(), file=sys.stderr)
            gateway.stop()
            raise
        targets.append(Target("gateway", gateway.port, f"Bearer {token}", gateway.pid))
    print(
        f"backend {backend}: " + ", ".join(f"{t.name} on :{t.port}" for t in targets),
        file=sys.stderr,
        flush=True,
    )
    rows: list[Row] = []
    peak, leak = float("nan"), None
    try:
        rows, peak = run_matrix(plan, pool, targets, up.pid)
        if args.leak and gateway is not None and not (plan.fail_fast and any(r.failures for r in rows)):
            leak, leak_row = run_leak(pool, targets[-1])
            if leak_row.failures:
                rows.append(leak_row)
    finally:
        if gateway is not None:
            if any(r.failures for r in rows):
                print("gateway log tail:\n" + gateway.log_tail(), file=sys.stderr)
            notes += gateway.notes
            gateway.stop()
    return Report(
        backend if gateway else "direct only (harness ceiling)",
        args.command,
        rows,
        gateway is not None,
        notes,
        peak if gateway else float("nan"),
        leak,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="a few hundred requests, validate, no docs (< 60 s)")
    ap.add_argument("--leak", action="store_true", help=f"also run {LEAK_REQUESTS} requests and track RSS")
    ap.add_argument("--backend", choices=("sqlite", "pg", "both"), default="sqlite")
    ap.add_argument("--direct-only", action="store_true", help="no gateway: measure the harness' own ceiling")
    ap.add_argument("--requests", type=int, help="requests per job (per target, round, scenario, c)")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--concurrency", help="comma-separated, e.g. 1,16,64")
    ap.add_argument("--scenarios", help="comma-separated subset of chat,stream,embed")
    ap.add_argument("--loadgen-procs", type=int, default=1, help="load generator worker processes")
    ap.add_argument("--workers", type=int, default=1, help="gateway worker processes (aqueduct serve --workers)")
    ap.add_argument(
        "--core-transport", choices=("local", "tcp"), default="local", help="façade -> core transport of serve"
    )
    ap.add_argument("--aqueduct", help="gateway executable (default: beside the interpreter, then PATH)")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    ap.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--no-docs", action="store_true", help="print only")
    ap.add_argument("--strict", action="store_true", help="also exit non-zero when a target fails")
    args = ap.parse_args(argv)
    args.command = "python -m bench.run" + ("".join(" " + shlex.quote(a) for a in argv) if argv else "")
    return args


def make_plan(args: argparse.Namespace) -> Plan:
    plan = SMOKE if args.smoke else FULL
    return dataclasses.replace(
        plan,
        requests=args.requests or plan.requests,
        rounds=args.rounds or plan.rounds,
        concurrencies=tuple(int(c) for c in args.concurrency.split(",")) if args.concurrency else plan.concurrencies,
        scenarios=tuple(args.scenarios.split(",")) if args.scenarios else plan.scenarios,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    plan = make_plan(args)
    if not args.direct_only and not find_executable(args.aqueduct):
        print(
            "bench: no `aqueduct` executable found; install the project or pass --direct-only",
            file=sys.stderr,
        )
        return 2
    backends = ["sqlite", "pg"] if args.backend == "both" else [args.backend]
    reports: list[Report] = []
    with FakeUpstreamProcess(["--no-record"]) as up, LoadGenPool(args.loadgen_procs) as pool:
        for backend in backends[:1] if args.direct_only else backends:
            try:
                rep = bench_backend(args, plan, backend, up, pool)
            except (RuntimeError, OSError) as exc:  # gateway did not start or provision
                print(f"bench: {backend}: {exc}", file=sys.stderr)
                return 1
            reports.append(rep)
            section = render(rep)
            print(section)
            if not args.smoke and not args.no_docs:
                write_docs(args.docs, "direct" if args.direct_only else backend, section)
                print(f"wrote {args.docs}", file=sys.stderr)
    failed = sum(r.failures for r in reports)
    if failed:
        print(f"bench: {failed} failed requests", file=sys.stderr)
        return 1
    if args.strict and any(not c.passed for r in reports for c in r.all_checks):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
