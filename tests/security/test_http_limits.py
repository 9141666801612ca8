"""Issue 16 item 2: HTTP bounds before work, tried as a hostile client would (real `aqueduct serve`, raw sockets).

Body cap (413, from Content-Length before reading and while a chunked body arrives), authentication form checked
from the headers before the body is read (401 while the body is still unsent), header cap (431), head and body
read deadlines (a slowloris connection is answered 408 and closed), a connection cap (503 and closed beyond it, and
legitimate requests work again once the flood goes away), and an aborted upload logged as one INFO line."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import openai
import pytest

from tests.support.gateway import Gateway
from tests.support.sdk import sdk_client
from tests.support.waiting import wait_until

BODY_CAP = 64 * 1024
HEADER_CAP = 8 * 1024
MAX_CONNECTIONS = 40


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir: Path = tmp_path_factory.mktemp("http-limits")
    config = {
        "database_url": f"sqlite:///{workdir / 'aqueduct.db'}",
        "model_list": [{"model_name": "m", "litellm_params": {"model": "mock/m"}, "model_info": {"mode": "chat"}}],
        "max_request_body_bytes": BODY_CAP,
        "max_request_header_bytes": HEADER_CAP,
        "http_header_timeout_seconds": 1.0,
        "http_body_timeout_seconds": 1.5,
        "max_connections": MAX_CONNECTIONS,
    }
    gw = Gateway(config, workdir).start()
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="module")
def token(gateway: Gateway) -> str:
    return gateway.create_user_token("limits", "limits@example.com")


def _connect(gw: Gateway) -> socket.socket:
    url = urlsplit(gw.base_url)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=20)
    return sock


def _head(content_length: int | None, token: str | None = None, extra: str = "") -> bytes:
    lines = ["POST /v1/chat/completions HTTP/1.1", "host: gw", "content-type: application/json"]
    if token is not None:
        lines.append(f"authorization: Bearer {token}")
    lines.append(f"content-length: {content_length}" if content_length is not None else "transfer-encoding: chunked")
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Reads one response: its head, then content-length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed without a complete response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def _closed(sock: socket.socket) -> bool:
    return sock.recv(65536) == b""


def _error(body: bytes) -> dict[str, object]:
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error  # type: ignore[no-any-return]


def test_no_token_is_401_before_the_body_is_sent(gateway: Gateway) -> None:
    with _connect(gateway) as sock:
        sock.sendall(_head(100 * 1024 * 1024))  # announces 100 MB and sends none of it
        status, _, body = _response(sock)
    assert status == 401
    assert _error(body)["code"] == "invalid_api_key"


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "sk-no-scheme"])
def test_malformed_credential_is_401_without_reading_the_body(gateway: Gateway, authorization: str) -> None:
    with _connect(gateway) as sock:
        sock.sendall(_head(10 * 1024 * 1024, extra=f"authorization: {authorization}\r\n"))
        status, _, body = _response(sock)
    assert status == 401, body


def test_declared_body_over_the_cap_is_413_before_it_is_sent(gateway: Gateway, token: str) -> None:
    with _connect(gateway) as sock:
        sock.sendall(_head(BODY_CAP + 1, token))
        status, headers, body = _response(sock)
    assert status == 413
    assert headers["x-should-retry"] == "false"
    assert _error(body)["type"] == "invalid_request_error"


def test_chunked_body_over_the_cap_is_413_while_it_arrives(gateway: Gateway, token: str) -> None:
    chunk = b"x" * 16384
    with _connect(gateway) as sock:
        sock.sendall(_head(None, token))
        for _ in range(BODY_CAP // len(chunk) + 1):  # no Content-Length, and one chunk over the cap
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, _, body = _response(sock)
    assert status == 413, body


def test_body_under_the_cap_is_served(gateway: Gateway, token: str) -> None:
    client = sdk_client(base_url=gateway.v1, api_key=token, max_retries=0)
    content = "y" * (BODY_CAP // 2)
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": content}])
    assert reply.choices[0].message.content


def test_oversized_head_is_431(gateway: Gateway) -> None:
    with _connect(gateway) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # answered before all was sent
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nhost: gw\r\nx-big: " + b"a" * (4 * HEADER_CAP))
        status, _, body = _response(sock)
    assert status == 431
    assert _error(body)["type"] == "invalid_request_error"


def test_many_small_headers_over_the_cap_are_431(gateway: Gateway) -> None:
    headers = "".join(f"x-h{i}: {'v' * 100}\r\n" for i in range(HEADER_CAP // 100 + 10))
    with _connect(gateway) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(f"GET /v1/models HTTP/1.1\r\nhost: gw\r\n{headers}\r\n".encode())
        status, _, _ = _response(sock)
    assert status == 431


def test_slowloris_head_is_closed(gateway: Gateway) -> None:
    with _connect(gateway) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nhost: gw\r\n")  # ... and never the blank line
        status, _, _ = _response(sock)
        assert status == 408
        assert _closed(sock)


def test_slowloris_body_is_closed(gateway: Gateway, token: str) -> None:
    with _connect(gateway) as sock:
        sock.sendall(_head(1000, token) + b'{"model": "m", ')  # 985 bytes never follow
        status, _, _ = _response(sock)
        assert status == 408
        assert _closed(sock)


def test_idle_connection_that_never_speaks_is_closed(gateway: Gateway) -> None:
    with _connect(gateway) as sock:
        assert _closed(sock)


def test_connection_cap_refuses_the_flood_and_recovers(gateway: Gateway, token: str) -> None:
    flood = [_connect(gateway) for _ in range(MAX_CONNECTIONS)]
    extra = [_connect(gateway) for _ in range(5)]
    try:
        for sock in flood:
            sock.sendall(b"GET /v1/models HTTP/1.1\r\n")  # half-open heads
        assert [_response(sock)[0] for sock in extra] == [503] * 5
        assert all(_closed(sock) for sock in extra)
    finally:
        for sock in flood + extra:
            sock.close()
    client = sdk_client(base_url=gateway.v1, api_key=token, max_retries=0)

    def served() -> bool:
        try:
            return bool(client.models.list().data)
        except openai.APIStatusError:
            return False

    wait_until(served, within=10, interval=0.05, what="a legitimate request after the flood")


def test_aborted_upload_is_one_info_line(gateway: Gateway, token: str) -> None:
    with _connect(gateway) as sock:
        sock.sendall(_head(5000, token, extra="x-request-id: aborted-upload-1\r\n") + b'{"model": "m"')
    wait_until(
        lambda: "aborted-upload-1" in gateway.log, within=10, interval=0.05, what="the aborted upload's log line"
    )
    [line] = [line for line in gateway.log_lines if "aborted-upload-1" in line]
    assert "INFO" in line and "went away" in line
    assert "unhandled error" not in gateway.log
    assert "Traceback" not in gateway.log
