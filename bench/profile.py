"""Profiles the gateway under load: ``python -m bench.profile --scenario chat --requests 5000 --concurrency 16``.

Starts the fake upstream and the gateway as ``bench.run`` does, warms up, then runs one job while ``py-spy
record`` samples the gateway process (py-spy is a developer tool, not a dependency: ``pip install py-spy``).
Writes py-spy's output (``--format raw`` folded stacks by default, ``speedscope`` or ``flamegraph`` on request)
and prints the gateway's CPU per request of the profiled job. Profiling itself slows the gateway a little.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import orjson

from bench import procstat
from bench.gateway import Gateway, GatewayOptions
from bench.loadgen import Job, LoadGenPool
from bench.run import SCENARIOS
from tests.support.fake_upstream import FakeUpstreamProcess

_PY_SPY_START_S = 1.0  # py-spy attaches asynchronously; give it a moment before the load starts


def _py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy not found: pip install py-spy")
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), default="chat")
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    ap.add_argument("--format", choices=("raw", "speedscope", "flamegraph"), default="raw")
    ap.add_argument("--out", type=Path, default=Path("/tmp/aqueduct-profile.txt"))
    ap.add_argument("--no-profile", action="store_true", help="only measure CPU per request")
    ap.add_argument("--x-fake", help="fake upstream knobs added to the body, e.g. '{\"chunks\": 1}'")
    ap.add_argument("--backend", choices=("sqlite", "pg"), default="sqlite")
    ap.add_argument("--aqueduct", help="gateway executable (default: beside the interpreter, then PATH)")
    args = ap.parse_args(argv)

    path, body = SCENARIOS[args.scenario]
    if args.x_fake:
        body = orjson.dumps({**orjson.loads(body), "x_fake": orjson.loads(args.x_fake)})
    with FakeUpstreamProcess() as up, LoadGenPool(1) as pool:
        gateway = Gateway(up.port, GatewayOptions(executable=args.aqueduct, backend=args.backend))
        try:
            gateway.start()
            auth = f"Bearer {gateway.provision()}"

            def job(n: int) -> Job:
                return Job("127.0.0.1", gateway.port, path, body, auth, args.scenario, n, args.concurrency, 300)

            pool.run(job(args.warmup))
            spy: subprocess.Popen[bytes] | None = None
            if not args.no_profile:
                cmd = [_py_spy(), "record", "--pid", str(gateway.pid), "--rate", str(args.rate)]
                cmd += ["--format", args.format, "--output", str(args.out), "--nonblocking"]
                cmd += ["--gil"]  # only samples holding the GIL: CPU, not time spent waiting in the event loop
                spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
                time.sleep(_PY_SPY_START_S)
            before = procstat.sample(gateway.pid)
            result = pool.run(job(args.requests))
            after = procstat.sample(gateway.pid)
            if spy is not None:
                spy.send_signal(2)  # SIGINT: py-spy writes its output and exits
                spy.wait(timeout=60)
            cpu_ms = (after.cpu_s - before.cpu_s) * 1000 / max(1, args.requests)
            print(f"{args.scenario} c={args.concurrency}: gateway CPU {cpu_ms:.3f} ms/req, errors {result.failed}")
            if spy is not None:
                print(f"profile: {args.out}")
        finally:
            gateway.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
