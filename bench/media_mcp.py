"""Media and MCP benchmark: ``python -m bench.media_mcp [--smoke]`` (method and results in docs/benchmarks.md).

One gateway (`aqueduct serve`, SQLite, one worker) in front of the fake media upstream (tests/support, in a thread
of this process) and an MCP server built with the official SDK (bench/mcp_upstream.py, its own process). Latencies
are taken at c=1 against the upstream directly and through the gateway in alternating rounds; the gateway's CPU
and peak RSS come from /proc for its whole process tree (bench/procstat.py). Prints one line per target of the
issues' "Performance" sections with PASS/FAIL; exits 0 whatever the figures (it measures, it does not gate)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from bench import procstat
from bench.gateway import Gateway, GatewayOptions, free_port
from bench.probes import Endpoint
from bench.stats import Check, pct
from tests.support.fake_media_upstream import API_KEY, FakeMediaUpstream
from tests.support.waiting import wait_until

MB = 2**20
UPLOAD_BYTES = 25 * MB  # the default max_upload_bytes
SPEECH: dict[str, object] = {
    "model": "tts",
    "input": "The quick brown fox.",
    "voice": "alloy",
    "response_format": "mp3",
}
IMAGE: dict[str, object] = {"model": "painter", "prompt": "a benchmark", "response_format": "b64_json"}


@dataclasses.dataclass(frozen=True)
class Plan:
    rounds: int
    ttfb_requests: int  # per target and round
    big_speech_requests: int  # 4 MiB of audio each
    image_requests: int
    echo_requests: int  # per target and round
    progress_calls: int  # per target and round
    progress_steps: int


SMOKE = Plan(rounds=1, ttfb_requests=3, big_speech_requests=1, image_requests=1, echo_requests=3, progress_calls=1,
             progress_steps=3)  # fmt: skip
FULL = Plan(rounds=4, ttfb_requests=100, big_speech_requests=30, image_requests=100, echo_requests=250,
            progress_calls=5, progress_steps=20)  # fmt: skip


class MediaMcpGateway(Gateway):
    """The bench gateway with media models on the fake media upstream and one MCP server."""

    def __init__(self, media_base: str, mcp_url: str, opts: GatewayOptions) -> None:
        super().__init__(0, opts)
        self.media_base = media_base
        self.mcp_url = mcp_url

    def write_config(self) -> Path:
        def model(name: str, mode: str, upstream: str) -> dict[str, Any]:
            params = {"model": f"openai/{upstream}", "api_base": self.media_base, "api_key": API_KEY}
            return {"model_name": name, "litellm_params": params, "model_info": {"mode": mode}}

        cfg = {
            "database_url": self._database_url(),
            "model_list": [
                model("tts", "audio_speech", "tts-up"),
                model("painter", "image_generation", "gpt-image-up"),
                model("whisper", "audio_transcription", "whisper-up"),
            ],
            "mcp_servers": {"bench": {"url": self.mcp_url, "description": "benchmark echo"}},
        }
        self.notes.append("database: SQLite file in a scratch directory; no redis")
        path = self.dir / "config.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        return path


@contextlib.contextmanager
def mcp_upstream() -> Iterator[tuple[int, int]]:
    """bench/mcp_upstream.py in its own process; yields (port, pid)."""
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.mcp_upstream", str(port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        probe = Endpoint(port, "", prefix="/mcp")

        def answers() -> bool:
            if proc.poll() is not None:
                raise RuntimeError("the MCP upstream exited at startup")
            try:
                probe.mcp_echo()
            except OSError:
                probe.close()
                return False
            return True

        wait_until(answers, within=30, what="the MCP upstream to listen")
        probe.close()
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _cpu(pid: int) -> float:
    return procstat.sample(pid).cpu_s


def _alternate(
    plan: Plan, n: int, direct: Callable[[], float], gateway: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """`n` timings per side and round, sides alternating A B, B A, ... so drift hits both alike."""
    d: list[float] = []
    g: list[float] = []
    for rnd in range(plan.rounds):
        sides = [(direct, d), (gateway, g)]
        for fn, out in sides if rnd % 2 == 0 else sides[::-1]:
            out.extend(fn() for _ in range(n))
    return d, g


def _clear_peak_rss(pids: tuple[int, ...]) -> bool:
    """Resets each process's VmHWM to its current RSS (`5` > clear_refs, Linux >= 4.0)."""
    try:
        for pid in pids:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
    except OSError:
        return False
    return True


def measure(plan: Plan, gw: Gateway, token: str, media: FakeMediaUpstream, mcp_port: int) -> list[Check]:
    auth = f"Bearer {token}"
    g_media, d_media = Endpoint(gw.port, auth), Endpoint(media.port, f"Bearer {API_KEY}")
    g_mcp, d_mcp = Endpoint(gw.port, auth, "/v1/mcp-servers/bench/mcp"), Endpoint(mcp_port, "", "/mcp")
    checks: list[Check] = []

    # Transcription first, while the gateway's peak RSS is still near its resting size.
    g_media.upload("/audio/transcriptions", {"model": "whisper"}, MB)
    pids = procstat.sample(gw.pid).pids
    cleared = _clear_peak_rss(pids)
    before = procstat.sample(gw.pid)
    g_media.upload("/audio/transcriptions", {"model": "whisper"}, UPLOAD_BYTES)
    after = procstat.sample(gw.pid)
    growth = (after.hwm_bytes - (before.rss_bytes if cleared else before.hwm_bytes)) / MB
    say(f"transcription: 25 MiB upload, peak RSS {before.rss_bytes / MB:.1f} -> {after.hwm_bytes / MB:.1f} MiB"
        f" (peak reset: {cleared})")  # fmt: skip
    checks.append(Check("transcription 25 MiB upload: gateway peak RSS growth (MiB)", growth, 25 + 10))

    # Speech: time to first audio byte (64 KiB of audio in 8 chunks), then CPU per MiB streamed.
    media.audio_size, media.audio_chunks = 64 * 1024, 8
    up_speech: dict[str, object] = {**SPEECH, "model": "tts-up"}
    d, g = _alternate(
        plan,
        plan.ttfb_requests,
        lambda: d_media.first_byte("/audio/speech", up_speech)[0] * 1000,
        lambda: g_media.first_byte("/audio/speech", SPEECH)[0] * 1000,
    )
    say(f"speech TTFB p50 direct {pct(d, 50):.2f} ms, gateway {pct(g, 50):.2f} ms")
    checks.append(Check("speech: added time to first audio byte p50, c=1 (ms)", pct(g, 50) - pct(d, 50), 1.0))
    small_cpu = _per_request_cpu(gw.pid, plan.big_speech_requests, lambda: g_media.first_byte("/audio/speech", SPEECH))
    media.audio_size, media.audio_chunks = 4 * MB, 64  # 64 KiB per upstream write
    big_cpu = _per_request_cpu(gw.pid, plan.big_speech_requests, lambda: g_media.first_byte("/audio/speech", SPEECH))
    say(f"speech CPU per request: 64 KiB {small_cpu:.2f} ms, 4 MiB {big_cpu:.2f} ms")
    checks.append(Check("speech: gateway CPU per MiB streamed, whole request / 4 (ms)", big_cpu / 4, 1.0))
    checks.append(
        Check("speech: gateway CPU per MiB streamed, marginal (ms)", (big_cpu - small_cpu) / (4 - 1 / 16), 1.0)
    )

    # Images: 1.5 MiB of image = 2 MiB of base64 in the JSON answer.
    def image() -> object:
        return g_media.post_json("/images/generations", IMAGE)

    media.image_bytes = 1024
    tiny_cpu = _per_request_cpu(gw.pid, plan.image_requests, image)
    media.image_bytes = 3 * MB // 2
    image()
    img_cpu = _per_request_cpu(gw.pid, plan.image_requests, image)
    say(f"images CPU per request: 1 KiB image {tiny_cpu:.2f} ms, 2 MiB b64 {img_cpu:.2f} ms")
    checks.append(Check("images: gateway CPU per request, 2 MiB b64 answer (ms)", img_cpu, 2.0))

    # MCP: a proxied tools/call of echo, then progress notifications stamped by the upstream.
    d, g = _alternate(plan, plan.echo_requests, lambda: d_mcp.mcp_echo() * 1000, lambda: g_mcp.mcp_echo() * 1000)
    say(f"MCP echo p50/p99 direct {pct(d, 50):.2f}/{pct(d, 99):.2f} ms, gateway {pct(g, 50):.2f}/{pct(g, 99):.2f} ms")
    checks.append(Check("MCP tools/call echo: added p50, c=1 (ms)", pct(g, 50) - pct(d, 50), 1.0))
    checks.append(Check("MCP tools/call echo: added p99, c=1 (ms)", pct(g, 99) - pct(d, 99), 3.0))
    mcp_cpu = _per_request_cpu(gw.pid, plan.echo_requests * plan.rounds, g_mcp.mcp_echo)
    checks.append(Check("MCP: gateway CPU per proxied call (ms)", mcp_cpu, 1.0))
    d_mcp.close()  # idle through the CPU phase, beyond the upstream's keep-alive timeout
    d_delays: list[float] = []
    g_delays: list[float] = []
    for rnd in range(plan.rounds):
        sides = [(d_mcp, d_delays), (g_mcp, g_delays)]
        for ep, out in sides if rnd % 2 == 0 else sides[::-1]:
            for _ in range(plan.progress_calls):
                out.extend(ep.mcp_progress_delays(plan.progress_steps, 10))
    say(f"MCP progress delay p50/p99 direct {pct(d_delays, 50):.2f}/{pct(d_delays, 99):.2f} ms, "
        f"gateway {pct(g_delays, 50):.2f}/{pct(g_delays, 99):.2f} ms")  # fmt: skip
    checks.append(Check("MCP progress notification: added forwarding delay p50 (ms)",
                        pct(g_delays, 50) - pct(d_delays, 50), 1.0))  # fmt: skip
    for ep in (g_media, d_media, g_mcp, d_mcp):
        ep.close()
    return checks


def say(msg: str) -> None:
    print("  " + msg, file=sys.stderr, flush=True)


def _per_request_cpu(pid: int, n: int, call: Callable[[], object]) -> float:
    """Gateway CPU ms per call over `n` calls in a row."""
    c0 = _cpu(pid)
    for _ in range(n):
        call()
    return (_cpu(pid) - c0) * 1000 / n


def idle_cpu_ms_per_s(pid: int, seconds: float = 2.0) -> float:
    c0, t0 = _cpu(pid), time.monotonic()
    time.sleep(seconds)  # an idle window, not a wait for a condition
    return (_cpu(pid) - c0) * 1000 / (time.monotonic() - t0)


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = [f"{'target':{width}}  {'measured':>9}  {'limit':>6}  result", "-" * (width + 28)]
    lines += [f"{c.name:{width}}  {c.value:9.3f}  {c.limit:6g}  {'PASS' if c.passed else 'FAIL'}" for c in checks]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="tiny counts: checks the harness runs, not the figures")
    ap.add_argument("--aqueduct", help="the aqueduct executable (default: beside the interpreter, then PATH)")
    args = ap.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)", file=sys.stderr)
    with FakeMediaUpstream() as media, mcp_upstream() as (mcp_port, _mcp_pid):
        gw = MediaMcpGateway(
            media.base_url, f"http://127.0.0.1:{mcp_port}/mcp", GatewayOptions(executable=args.aqueduct)
        )
        try:
            gw.start()
            token = gw.provision()
            idle = idle_cpu_ms_per_s(gw.pid, 0.5 if args.smoke else 2.0)
            print(f"gateway idle CPU: {idle:.2f} ms/s (not subtracted)", file=sys.stderr)
            checks = measure(plan, gw, token, media, mcp_port)
        except BaseException:
            print("gateway log tail:\n" + gw.log_tail(), file=sys.stderr)
            raise
        finally:
            gw.stop()
    load = os.getloadavg()
    print(render(checks))
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
