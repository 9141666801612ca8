"""Blocking HTTP probes of the media/MCP benchmark: one keep-alive connection per target, timed with
perf_counter / CLOCK_MONOTONIC. The same code measures the upstream directly and through the gateway, so the
client's own cost cancels out of the added figures."""

from __future__ import annotations

import http.client
import time
import uuid
from collections.abc import Iterator

import orjson

MCP_VERSION = "2026-07-28"
_ENVELOPE = {"io.modelcontextprotocol/protocolVersion": MCP_VERSION, "io.modelcontextprotocol/clientCapabilities": {}}


class ProbeError(RuntimeError):
    pass


class Endpoint:
    """One target (the upstream itself, or the gateway in front of it) on a kept-alive connection."""

    def __init__(self, port: int, auth: str, prefix: str = "/v1") -> None:
        self.port = port
        self.auth = auth
        self.prefix = prefix
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def close(self) -> None:
        self.conn.close()

    def _send(self, path: str, body: bytes | Iterator[bytes], headers: dict[str, str]) -> http.client.HTTPResponse:
        try:
            self.conn.request("POST", self.prefix + path, body, {"authorization": self.auth, **headers})
            return self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            if not isinstance(body, bytes):
                raise
            # the server ended a connection idle for longer than its keep-alive timeout: once more on a new one
            self.conn.close()
            self.conn.request("POST", self.prefix + path, body, {"authorization": self.auth, **headers})
            return self.conn.getresponse()

    def post_json(self, path: str, body: dict[str, object]) -> bytes:
        resp = self._send(path, orjson.dumps(body), {"content-type": "application/json"})
        data = resp.read()
        if resp.status != 200:
            raise ProbeError(f"POST {path} on :{self.port}: {resp.status} {data[:300]!r}")
        return data

    def first_byte(self, path: str, body: dict[str, object]) -> tuple[float, int]:
        """Seconds until the first body byte of the answer, and the body's length (read to its end)."""
        t0 = time.perf_counter()
        resp = self._send(path, orjson.dumps(body), {"content-type": "application/json"})
        first = resp.read1(1 << 20)
        t1 = time.perf_counter()
        if resp.status != 200 or not first:
            raise ProbeError(f"POST {path} on :{self.port}: {resp.status} {first[:300]!r}")
        size = len(first)
        while chunk := resp.read1(1 << 20):
            size += len(chunk)
        return t1 - t0, size

    def upload(self, path: str, fields: dict[str, str], file_size: int, chunk: int = 256 * 1024) -> bytes:
        """A multipart form with a `file_size`-byte file, generated while it is sent (never whole in memory)."""
        boundary = uuid.uuid4().hex
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.mp3"\r\n'
            "Content-Type: audio/mpeg\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        block = bytes(range(256)) * (chunk // 256)

        def body() -> Iterator[bytes]:
            yield head
            left = file_size
            while left > 0:
                yield block[: min(left, chunk)]
                left -= chunk
            yield tail

        headers = {
            "content-type": f"multipart/form-data; boundary={boundary}",
            "content-length": str(len(head) + file_size + len(tail)),
        }
        resp = self._send(path, body(), headers)
        data = resp.read()
        if resp.status != 200:
            raise ProbeError(f"upload to {path} on :{self.port}: {resp.status} {data[:300]!r}")
        return data

    # --- MCP (the stateless 2026-07-28 generation: one self-contained POST per call) ---------------------------
    def _tools_call(self, name: str, arguments: dict[str, object], meta: dict[str, object]) -> http.client.HTTPResponse:
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments, "_meta": {**_ENVELOPE, **meta}},
        }
        headers = {
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": MCP_VERSION,
            "mcp-method": "tools/call",
            "mcp-name": name,
        }
        return self._send("", orjson.dumps(body), headers)

    def mcp_echo(self, message: str = "bench") -> float:
        """Seconds for one proxied `tools/call` of `echo`, its answer read whole and checked."""
        t0 = time.perf_counter()
        resp = self._tools_call("echo", {"message": message}, {})
        data = resp.read()
        elapsed = time.perf_counter() - t0
        if resp.status != 200 or f"Echo: {message}".encode() not in data:
            raise ProbeError(f"tools/call echo on :{self.port}: {resp.status} {data[:300]!r}")
        return elapsed

    def mcp_progress_delays(self, steps: int, interval_ms: float) -> list[float]:
        """Per progress notification, ms from the upstream sending it (its stamp) to this client reading it."""
        resp = self._tools_call(
            "stamped_progress", {"steps": steps, "interval_ms": interval_ms}, {"progressToken": "bench"}
        )
        if resp.status != 200:
            raise ProbeError(f"tools/call stamped_progress on :{self.port}: {resp.status} {resp.read()[:300]!r}")
        delays: list[float] = []
        buf = b""
        while chunk := resp.read1(1 << 16):
            now = time.monotonic_ns()
            buf = (buf + chunk).replace(b"\r\n", b"\n")  # sse-starlette ends its lines with CRLF
            *events, buf = buf.split(b"\n\n")
            for event in events:
                for line in event.splitlines():
                    if line.startswith(b"data:"):
                        msg = orjson.loads(line[5:])
                        if msg.get("method") == "notifications/progress":
                            delays.append((now - int(msg["params"]["message"])) / 1e6)
        if len(delays) != steps:
            raise ProbeError(f"expected {steps} progress notifications on :{self.port}, read {len(delays)}")
        return delays
