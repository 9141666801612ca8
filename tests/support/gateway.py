"""A real `aqueduct serve` process for end-to-end tests, plus the admin CLI to give it users and tokens."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import httpx2
import yaml
from aqueduct.v1 import org_service_pb2, token_pb2, token_service_pb2, user_pb2, user_service_pb2
from aqueduct_client.cli._connection import Admin

ROOT = Path(__file__).resolve().parents[2]
AQUEDUCT = str(Path(sys.executable).with_name("aqueduct"))
ADMIN_TOKEN = "sk-admin-e2e-" + "x" * 32

_BASE_RE = re.compile(r"OpenAI-compatible API at (http://\S+)/v1")
_CORE_RE = re.compile(r"core gRPC: (\S+)")


class Gateway:
    """`aqueduct serve` on ports chosen by the OS; stderr is collected for assertions (e.g. no secrets)."""

    def __init__(
        self,
        config: dict[str, Any],
        workdir: Path,
        env: dict[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.extra_args = extra_args
        self.workdir = workdir
        self.config_path = workdir / "aqueduct.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.env = {**os.environ, "AQUEDUCT_ADMIN_TOKEN": ADMIN_TOKEN, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.core_target = ""
        self.log_lines: list[str] = []
        self._reader: threading.Thread | None = None
        self._channel: grpc.Channel | None = None
        self._admin: Admin | None = None

    @property
    def v1(self) -> str:
        return self.base_url + "/v1"

    def start(self, timeout: float = 30.0) -> Gateway:
        self.proc = subprocess.Popen(
            [AQUEDUCT, "serve", "--config", str(self.config_path), "--port", "0", "--grpc-port", "0", *self.extra_args],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited during startup:\n" + self.log)
            if self.base_url and self.core_target:
                break
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("gateway did not start in time:\n" + self.log)
        resp = httpx2.get(self.base_url + "/health", timeout=5)
        assert resp.status_code == 200, resp.text
        return self

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log_lines.append(line)
            if match := _BASE_RE.search(line):
                self.base_url = match.group(1)
            if match := _CORE_RE.search(line):
                self.core_target = match.group(1)

    @property
    def log(self) -> str:
        return "".join(self.log_lines)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: the graceful path (in-flight work finishes, usage is flushed)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._reader is not None:
            self._reader.join(5)
        if self._channel is not None:
            self._channel.close()
            self._channel = self._admin = None
        code = self.proc.returncode
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None
        return code

    def cli(self, *args: str, token: str = ADMIN_TOKEN, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "AQUEDUCT_CORE": self.core_target, "AQUEDUCT_ADMIN_TOKEN": token}
        result = subprocess.run([AQUEDUCT, *args], env=env, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"aqueduct {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def admin(self) -> Admin:
        """Core's tenancy services over gRPC (faster than the CLI for fixtures); pass the bootstrap admin's
        metadata with each call."""
        if self._admin is None:
            self._channel = grpc.insecure_channel(self.core_target)
            self._admin = Admin.over(self._channel)
        return self._admin

    def create_user_token(self, org: str, email: str, name: str = "test") -> str:
        """Creates org (if new) and user (if new), then a personal token; returns the secret."""
        admin, md = self.admin(), (("authorization", f"Bearer {ADMIN_TOKEN}"),)
        for call, request in [
            (admin.orgs.CreateOrg, org_service_pb2.CreateOrgRequest(org_id=org)),
            (
                admin.users.CreateUser,
                user_service_pb2.CreateUserRequest(user_id=email, user=user_pb2.User(org=f"orgs/{org}")),
            ),
        ]:
            try:
                call(request, metadata=md)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
        token = token_pb2.Token(user=f"users/{email}", display_name=name)
        reply = admin.tokens.CreateToken(token_service_pb2.CreateTokenRequest(token=token), metadata=md)
        assert reply.secret.startswith("sk-")
        return reply.secret
