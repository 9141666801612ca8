"""HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment, through a tiny loopback proxy: absolute-form
requests for http:// upstreams, CONNECT tunnels for https:// ones, proxy credentials, and NO_PROXY bypassing it."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import pytest
import trustme

from tests.integration.upstream_http.raw_upstream import (
    CHAT,
    CHAT_RESULT,
    ForwardProxy,
    RawUpstream,
    answer_json,
    provider_for,
)


@pytest.fixture(autouse=True)
def _no_proxy_settings_of_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


async def test_http_upstream_through_http_proxy_with_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    async with RawUpstream(answer_json) as upstream, ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://egress:pa55@"))
        provider = provider_for(upstream.base_url(), api_key="sk-up")
        try:
            assert await provider.chat_completion(CHAT, request_id="r") == CHAT_RESULT
        finally:
            await provider.aclose()
    line, proxy_auth = proxy.seen[0]
    assert line == f"POST http://127.0.0.1:{upstream.port}/v1/chat/completions HTTP/1.1"
    assert proxy_auth == "Basic " + base64.b64encode(b"egress:pa55").decode()
    assert upstream.requests[0].headers["authorization"] == "Bearer sk-up"
    assert "proxy-authorization" not in upstream.requests[0].headers


async def test_https_upstream_through_a_connect_tunnel(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    async with RawUpstream(answer_json, tls=context) as upstream, ForwardProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a different scheme's proxy is not used
        provider = provider_for(upstream.base_url(), ssl_verify=str(tmp_path / "ca.pem"))
        try:
            assert await provider.chat_completion(CHAT, request_id="r") == CHAT_RESULT
        finally:
            await provider.aclose()
    assert proxy.seen == [(f"CONNECT 127.0.0.1:{upstream.port} HTTP/1.1", None)]
    assert upstream.requests[0].line == "POST /v1/chat/completions HTTP/1.1"


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
async def test_no_proxy_bypasses_the_proxy(monkeypatch: pytest.MonkeyPatch, no_proxy: str) -> None:
    async with RawUpstream(answer_json) as upstream, ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", no_proxy)
        provider = provider_for(upstream.base_url())
        try:
            assert await provider.chat_completion(CHAT, request_id="r") == CHAT_RESULT
        finally:
            await provider.aclose()
    assert proxy.seen == [] and len(upstream.requests) == 1
