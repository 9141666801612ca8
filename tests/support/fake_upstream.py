"""The one fake OpenAI-compatible upstream, shared by the benchmark and the integration tests.

A raw ASGI app (no framework, so the fake is never the bottleneck) plus ways to run it:
``FakeUpstream`` (a uvicorn server in a background thread, as a context manager),
``FakeUpstreamProcess`` (the same in a child process, used by the benchmark so the fake does not
share a GIL with the load generator) and ``python -m tests.support.fake_upstream --port N``.

Per-request knobs come from ``x-fake-*`` request headers or, for callers that cannot set headers
(a request that goes through the gateway, which may not forward them), from an ``x_fake`` object
in the JSON body, e.g. ``{"x_fake": {"status": 429}}``. See ``Knobs`` for the list.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading

import uvicorn

from tests.support._fake_app import FakeUpstreamApp, FakeUpstreamConfig, Knobs, RecordedRequest
from tests.support._fake_payloads import fake_chunk_text, fake_content, fake_embedding

__all__ = [
    "FakeUpstream",
    "FakeUpstreamApp",
    "FakeUpstreamConfig",
    "FakeUpstreamProcess",
    "Knobs",
    "RecordedRequest",
    "fake_chunk_text",
    "fake_content",
    "fake_embedding",
    "main",
]

_LOOPBACK = ("127.", "::1", "localhost")


def _check_loopback(host: str) -> None:
    if not host.startswith(_LOOPBACK):
        raise ValueError(f"fake upstream binds loopback only, not {host!r}")


def _uvicorn_server(app: FakeUpstreamApp) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        http="httptools",
        loop="uvloop",
        lifespan="off",
        access_log=False,
        log_level="warning",
        ws="none",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=int(app.config.keep_alive_s),
        backlog=4096,
    )
    return uvicorn.Server(config)


def _bind(host: str, port: int) -> socket.socket:
    _check_loopback(host)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(4096)
    sock.set_inheritable(True)
    return sock


class FakeUpstream:
    """Runs the fake in a background thread with its own event loop, on 127.0.0.1 port 0 by default.

    >>> with FakeUpstream() as up:
    ...     client = openai.OpenAI(base_url=up.base_url, api_key="sk-test")
    """

    def __init__(self, config: FakeUpstreamConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = FakeUpstreamApp(config)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:43123`` (endpoints answer with and without ``/v1``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as ``base_url``."""
        return self.url + "/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.app.requests

    def reset(self) -> None:
        self.app.reset()

    def start(self, timeout_s: float = 10.0) -> FakeUpstream:
        self._sock = sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._server = server = _uvicorn_server(self.app)
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"fake-upstream-{self.port}"
        )
        self._thread.start()
        for _ in range(int(timeout_s / 0.01)):
            if server.started or not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        if not server.started:
            self.stop()
            raise RuntimeError("fake upstream did not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # do not wait for stalled streams
        if self._thread is not None:
            self._thread.join(10)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeUpstreamProcess:
    """The fake in a child process (``python -m tests.support.fake_upstream --port 0``); ``pid`` for /proc."""

    def __init__(self, args: list[str] | None = None, python: str = sys.executable) -> None:
        self.args = args or []
        self.python = python
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> FakeUpstreamProcess:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [self.python, "-m", "tests.support.fake_upstream", "--port", "0", *self.args],
            stdout=subprocess.PIPE,
            env=env,
            cwd=root,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the child prints {"port": N} once it listens
        if not line:
            self.stop()
            raise RuntimeError("fake upstream process exited before listening")
        self.port = int(json.loads(line)["port"])
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> FakeUpstreamProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.support.fake_upstream", description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1", help="loopback only")
    ap.add_argument("--port", type=int, default=0, help='0 picks a free port, printed as {"port": N}')
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--chunks", type=int, default=20)
    ap.add_argument("--chunk-delay-ms", type=float, default=0.0)
    ap.add_argument("--embedding-dim", type=int, default=1536)
    ap.add_argument("--keep-alive-s", type=float, default=75.0, help="idle keep-alive timeout")
    ap.add_argument("--no-auth", action="store_true", help="do not require an authorization header")
    ap.add_argument("--no-record", action="store_true", help="do not keep received requests")
    a = ap.parse_args(argv)
    cfg = FakeUpstreamConfig(
        latency_ms=a.latency_ms,
        chunks=a.chunks,
        chunk_delay_ms=a.chunk_delay_ms,
        embedding_dim=a.embedding_dim,
        require_auth=not a.no_auth,
        record=not a.no_record,
        keep_alive_s=a.keep_alive_s,
    )
    sock = _bind(a.host, a.port)
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    _uvicorn_server(FakeUpstreamApp(cfg)).run(sockets=[sock])


if __name__ == "__main__":
    main()
