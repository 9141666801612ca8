"""The server processes as an operator runs them: graceful SIGTERM, split core/façade, startup errors, gRPC
health and reflection."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import grpc
import httpx2
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.integration.e2e.conftest import client, gateway_config, transport_env
from tests.integration.e2e.test_e2e_usage import usage_rows
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import ADMIN_TOKEN, AQUEDUCT, Gateway


def test_sigterm_lets_a_running_stream_finish_and_flushes_usage(
    upstream: FakeUpstream, tmp_path: Path, core_transport: str
) -> None:
    config = gateway_config(upstream.url, f"sqlite:///{tmp_path / 'a.db'}")
    gw = Gateway(config, tmp_path, env=transport_env(core_transport)).start()
    gw.db_url = f"sqlite:///{tmp_path / 'a.db'}"  # type: ignore[attr-defined]
    try:
        token = gw.create_user_token("o", "graceful@example.com")
        rid = f"req-{uuid.uuid4().hex}"
        oc = client(gw, token, headers={"x-request-id": rid})
        stream = oc.chat.completions.create(
            model="chat-model",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            extra_body={"x_fake": {"chunks": 20, "chunk_delay_ms": 100}},
        )
        chunks = [next(stream)]
        assert gw.proc is not None
        gw.proc.send_signal(signal.SIGTERM)
        chunks.extend(stream)  # the in-flight stream runs to its end
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text.count("tok") == 20
        assert gw.stop() == 0
    finally:
        gw.stop()
    [row] = usage_rows(gw, rid, wait=0)  # written before the process exited
    assert row["status"] == 200 and row["output_tokens"] > 0


class _Proc:
    def __init__(self, args: list[str], env: dict[str, str], pattern: str) -> None:
        self.proc = subprocess.Popen(args, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.match: re.Match[str] | None = None
        self.lines: list[str] = []
        self._found = threading.Event()
        threading.Thread(target=self._read, args=(re.compile(pattern),), daemon=True).start()

    def _read(self, pattern: re.Pattern[str]) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if self.match is None and (m := pattern.search(line)):
                self.match = m
                self._found.set()

    def wait_match(self, timeout: float = 30) -> re.Match[str]:
        assert self._found.wait(timeout), "".join(self.lines)
        assert self.match is not None
        return self.match

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def test_split_core_and_facade_processes(upstream: FakeUpstream, tmp_path: Path) -> None:
    config = tmp_path / "aqueduct.yaml"
    config.write_text(yaml.safe_dump(gateway_config(upstream.url, f"sqlite:///{tmp_path / 'split.db'}")))
    env = {**os.environ, "AQUEDUCT_ADMIN_TOKEN": ADMIN_TOKEN}
    core = _Proc([AQUEDUCT, "core", "--config", str(config), "--grpc-port", "0"], env, r"gRPC on (\S+)")
    facade = None
    try:
        core_target = core.wait_match().group(1)
        facade = _Proc([AQUEDUCT, "facade", "--core", core_target, "--port", "0"], env, r"API at (http://\S+)/v1")
        base = facade.wait_match().group(1)
        gw = Gateway({}, tmp_path)
        gw.core_target, gw.base_url = core_target, base
        token = gw.create_user_token("o", "split@example.com")
        assert httpx2.get(base + "/health").status_code == 200
        reply = client(gw, token).chat.completions.create(
            model="chat-model", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content
        # Core gone: the façade says so on /health instead of pretending.
        core.stop()
        assert httpx2.get(base + "/health").status_code == 503
    finally:
        if facade is not None:
            facade.stop()
        core.stop()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "model_list:\n  - model_name: a\n    litellm_params: {model: nosuch/a}\n",
            "model_list[0] (a): unknown provider prefix 'nosuch'",
        ),
        (
            "model_list:\n  - {model_name: a, litellm_params: {model: mock/a}}\n"
            "router_settings: {fallbacks: [{a: [ghost]}]}\n",
            "ghost",
        ),
    ],
    ids=["unknown-provider", "fallback-to-unknown-model"],
)
def test_bad_config_stops_startup_with_a_message(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    result = subprocess.run(
        [AQUEDUCT, "serve", "--config", str(config), "--port", "0", "--grpc-port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_grpc_health_and_reflection_need_no_token(gateway: Gateway) -> None:
    with grpc.insecure_channel(gateway.core_target) as channel:
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        [reply] = list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
        names = {s.name for s in reply.list_services_response.service}
        tenancy = {f"aqueduct.v1.{n}Service" for n in ("Org", "User", "Team", "Token", "ServiceAccount")}
        assert {"aqueduct.v1.ChatService", "grpc.health.v1.Health", *tenancy} <= names
        assert "aqueduct.v1.AdminService" not in names


@pytest.mark.parametrize("path", ["/health", "/v1/models"])
def test_facade_answers_fast_paths(gateway: Gateway, path: str) -> None:
    started = time.monotonic()
    resp = httpx2.get(gateway.base_url + path)
    assert resp.status_code in (200, 401)
    assert time.monotonic() - started < 5


def test_workers_share_the_port_and_all_flush_usage(
    upstream: FakeUpstream, tmp_path: Path, core_transport: str
) -> None:
    db_url = f"sqlite:///{tmp_path / 'w.db'}"
    config = gateway_config(upstream.url, db_url)
    gw = Gateway(config, tmp_path, env=transport_env(core_transport), extra_args=("--workers", "2"))
    gw.db_url = db_url  # type: ignore[attr-defined]
    gw.start()
    try:
        token = gw.create_user_token("o", "workers@example.com")
        tag = uuid.uuid4().hex
        for i in range(40):
            # A new connection each time, so the kernel spreads them over both workers.
            with httpx2.Client() as http:
                resp = http.post(
                    gw.v1 + "/chat/completions",
                    headers={"Authorization": f"Bearer {token}", "x-request-id": f"{tag}-{i}"},
                    json={"model": "chat-model", "messages": [{"role": "user", "content": "hi"}]},
                )
            assert resp.status_code == 200, resp.text
        assert gw.stop() == 0
    finally:
        gw.stop()
    rows = sum(len(usage_rows(gw, f"{tag}-{i}", wait=0)) for i in range(40))
    assert rows == 40
    assert len(set(re.findall(r"Started server process \[(\d+)\]", gw.log))) == 2  # two worker processes
