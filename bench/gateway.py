"""Starts the gateway under test in its production configuration and provisions a bench user.

Contract (see docs/benchmarks.md): ``aqueduct serve --config FILE --host H --port P --grpc-port G``
serves until SIGTERM, ``GET /health`` answers 200 when ready, and the ``aqueduct`` admin CLI
(``AQUEDUCT_CORE``, ``AQUEDUCT_ADMIN_TOKEN``) creates the org, user, token and limits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

UPSTREAM_KEY = "sk-upstream-bench"
CHAT_MODEL = "bench-chat"
EMBED_MODEL = "bench-embed"
BENCH_USER = "bench@example.com"
_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclasses.dataclass
class GatewayOptions:
    backend: str = "sqlite"  # "sqlite" | "pg"
    redis_url: str = "redis://127.0.0.1:6379/15"  # pg backend only; a db index of its own
    pg_admin_url: str = _PG_ADMIN  # where the fresh database is created
    startup_timeout_s: float = 60.0
    executable: str | None = None  # default: `aqueduct` beside sys.executable, then PATH
    workers: int = 1  # `aqueduct serve --workers N`
    core_transport: str = "local"  # `aqueduct serve --core-transport`: "local" (in-process) or "tcp"


def find_executable(explicit: str | None = None) -> str | None:
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "aqueduct"
    return str(beside) if beside.exists() else shutil.which("aqueduct")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check_loopback(url: str) -> None:
    host = url.split("@")[-1].split("//")[-1].split("/")[0].rsplit(":", 1)[0]
    if not (host.startswith("127.") or host in ("localhost", "[::1]")):
        raise ValueError(f"the benchmark only talks to loopback services, not {url!r}")


class Gateway:
    """One gateway process tree plus its scratch directory and (for pg) a fresh database."""

    def __init__(self, upstream_port: int, opts: GatewayOptions) -> None:
        self.opts = opts
        self.upstream_port = upstream_port
        self.exe = find_executable(opts.executable)
        self.dir = Path(tempfile.mkdtemp(prefix="aqueduct-bench-"))
        self.port = free_port()
        self.grpc_port = free_port()
        self.admin_token = "adm-" + secrets.token_urlsafe(24)
        self.proc: subprocess.Popen[bytes] | None = None
        self.notes: list[str] = []
        self.token = ""
        self._pg_db: str | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def log_path(self) -> Path:
        return self.dir / "gateway.log"

    def _database_url(self) -> str:
        if self.opts.backend == "sqlite":
            return f"sqlite:///{self.dir / 'aqueduct.db'}"
        import psycopg  # only the pg backend needs it

        _check_loopback(self.opts.pg_admin_url)
        self._pg_db = f"aqueduct_bench_{secrets.token_hex(4)}"
        with psycopg.connect(self.opts.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self._pg_db}"')
        return self.opts.pg_admin_url.rsplit("/", 1)[0] + "/" + self._pg_db

    def write_config(self) -> Path:
        base = f"http://127.0.0.1:{self.upstream_port}/v1"
        cfg: dict[str, object] = {
            "database_url": self._database_url(),
            "model_list": [
                {
                    "model_name": name,
                    "litellm_params": {"model": f"openai/{name}", "api_base": base, "api_key": UPSTREAM_KEY},
                    "model_info": {"mode": mode},
                }
                for name, mode in ((CHAT_MODEL, "chat"), (EMBED_MODEL, "embedding"))
            ],
        }
        if self.opts.backend == "pg":
            _check_loopback(self.opts.redis_url)
            cfg["redis_url"] = self.opts.redis_url
            self.notes.append(f"database: fresh PostgreSQL database {self._pg_db}; redis: {self.opts.redis_url}")
        else:
            self.notes.append("database: SQLite file in a scratch directory; no redis")
        path = self.dir / "config.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        return path

    def env(self) -> dict[str, str]:
        return dict(os.environ, AQUEDUCT_ADMIN_TOKEN=self.admin_token, AQUEDUCT_CORE=f"127.0.0.1:{self.grpc_port}")

    def start(self) -> Gateway:
        if not self.exe:
            raise RuntimeError("no `aqueduct` executable (looked beside the interpreter and on PATH)")
        config = self.write_config()
        self.notes.append(
            f"gateway: {self.opts.workers} worker process(es), façade -> core over {self.opts.core_transport}"
        )
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc = subprocess.Popen(
            [
                self.exe,
                "serve",
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--grpc-port",
                str(self.grpc_port),
                "--workers",
                str(self.opts.workers),
                "--core-transport",
                self.opts.core_transport,
            ],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so stop() reaches every child
        )
        log.close()
        deadline = time.monotonic() + self.opts.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}; log tail above")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gateway not healthy after {self.opts.startup_timeout_s}s; log tail above")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert self.exe is not None
        return subprocess.run(
            [self.exe, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    def provision(self) -> str:
        """Creates org, user, token (and generous limits); returns the token secret."""
        for args in (("org", "create", "bench"), ("user", "create", BENCH_USER, "--org", "bench")):
            r = self.cli(*args)
            if r.returncode != 0:
                raise RuntimeError(f"`aqueduct {' '.join(args)}` failed: {r.stderr.strip() or r.stdout.strip()}")
        r = self.cli("token", "create", "--user", BENCH_USER, "--name", "bench")
        if r.returncode != 0 or not r.stdout.strip():
            raise RuntimeError(f"`aqueduct token create` failed: {r.stderr.strip()}")
        self.token = r.stdout.strip().splitlines()[-1].strip()
        r = self.cli(
            "limits",
            "set",
            "--user",
            BENCH_USER,
            "--rpm",
            "10000000",
            "--input-tpm",
            "1000000000",
            "--output-tpm",
            "1000000000",
        )
        self.notes.append("limits: set (rpm 1e7, tpm 1e9)" if r.returncode == 0 else "limits: not available")
        return self.token

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group we created in start()
                self.proc.wait()
        if self.proc is not None:
            # helpers the gateway left behind in the group we created in start()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None
        if self._pg_db:
            import psycopg

            try:
                with psycopg.connect(self.opts.pg_admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_db}" WITH (FORCE)')
            except psycopg.Error as exc:
                self.notes.append(f"could not drop {self._pg_db}: {exc}")
            self._pg_db = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
