"""TLS per deployment against loopback TLS servers whose CA and certificates trustme makes for each test:
a custom CA bundle (ssl_verify), no verification, client certificates (ssl_certificate, one file or with
ssl_certificate_key), and failures (unknown CA, wrong host name, missing client certificate) that reach the
caller as a clean "unavailable" while the operator's log names the cause."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from core.errors import UpstreamUnavailable
from core.settings import ConfigError
from tests.integration.upstream_http.raw_upstream import CHAT, CHAT_RESULT, RawUpstream, answer_json, provider_for


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_context(ca: trustme.CA, *names: str, client_ca: trustme.CA | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        client_ca.configure_trust(context)
    return context


def _ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


async def test_a_custom_ca_bundle_verifies_the_upstream(ca: trustme.CA, tmp_path: Path) -> None:
    async with RawUpstream(answer_json, tls=_server_context(ca, "127.0.0.1", "localhost")) as upstream:
        for host in ("127.0.0.1", "localhost"):
            provider = provider_for(upstream.base_url(host), ssl_verify=_ca_file(ca, tmp_path))
            try:
                assert await provider.chat_completion(CHAT, request_id="r") == CHAT_RESULT
                assert await provider.chat_completion(CHAT, request_id="r") == CHAT_RESULT
            finally:
                await provider.aclose()
        assert upstream.connections == 2  # kept alive per provider


async def test_an_unknown_ca_fails_cleanly_and_the_log_says_why(
    ca: trustme.CA, caplog: pytest.LogCaptureFixture
) -> None:
    async with RawUpstream(answer_json, tls=_server_context(ca, "127.0.0.1")) as upstream:
        provider = provider_for(upstream.base_url())  # the system CA store does not know this CA
        try:
            with pytest.raises(UpstreamUnavailable) as info:
                await provider.chat_completion(CHAT, request_id="r")
        finally:
            await provider.aclose()
    assert "certificate" not in info.value.message and "127.0.0.1" not in info.value.message
    assert "certificate verify failed" in caplog.text and "public#0" in caplog.text
    assert not upstream.requests


async def test_a_certificate_for_another_host_name_fails(
    ca: trustme.CA, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with RawUpstream(answer_json, tls=_server_context(ca, "upstream.example")) as upstream:
        provider = provider_for(upstream.base_url(), ssl_verify=_ca_file(ca, tmp_path))
        try:
            with pytest.raises(UpstreamUnavailable):
                await provider.chat_completion(CHAT, request_id="r")
        finally:
            await provider.aclose()
    assert "certificate verify failed" in caplog.text and "127.0.0.1" in caplog.text
    assert not upstream.requests


@pytest.mark.parametrize("verify", [False, "false"])
async def test_verification_can_be_turned_off(
    ca: trustme.CA, verify: bool | str, caplog: pytest.LogCaptureFixture
) -> None:
    async with RawUpstream(answer_json, tls=_server_context(ca, "upstream.example")) as upstream:
        provider = provider_for(upstream.base_url(), ssl_verify=verify)
        try:
            assert await provider.chat_completion(CHAT, request_id="r") == CHAT_RESULT
        finally:
            await provider.aclose()
    assert "verification of the upstream is turned off" in caplog.text


@pytest.mark.parametrize("key_apart", [False, True])
async def test_a_client_certificate_for_an_upstream_that_requires_one(
    ca: trustme.CA, tmp_path: Path, key_apart: bool, caplog: pytest.LogCaptureFixture
) -> None:
    client_ca = trustme.CA()
    client = client_ca.issue_cert("aqueduct-gateway@example.com")
    params: dict[str, str] = {"ssl_verify": _ca_file(ca, tmp_path)}
    if key_apart:
        client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.crt"))
        client.private_key_pem.write_to_path(str(tmp_path / "client.key"))
        params |= {"ssl_certificate": str(tmp_path / "client.crt"), "ssl_certificate_key": str(tmp_path / "client.key")}
    else:
        client.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "client.pem"))
        params |= {"ssl_certificate": str(tmp_path / "client.pem")}
    tls = _server_context(ca, "127.0.0.1", client_ca=client_ca)
    async with RawUpstream(answer_json, tls=tls) as upstream:
        anonymous = provider_for(upstream.base_url(), ssl_verify=params["ssl_verify"])
        identified = provider_for(upstream.base_url(), **params)
        try:
            with pytest.raises(UpstreamUnavailable):
                await anonymous.chat_completion(CHAT, request_id="r")
            assert await identified.chat_completion(CHAT, request_id="r") == CHAT_RESULT
        finally:
            await anonymous.aclose()
            await identified.aclose()
    assert len(upstream.requests) == 1
    peer = upstream.requests[0].peercert
    assert peer is not None and "aqueduct-gateway@example.com" in str(peer["subjectAltName"])
    assert "public#0" in caplog.text  # the refused handshake is in the operator's log


def test_tls_files_that_cannot_be_loaded_stop_startup(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="model 'public': cannot load the TLS files"):
        provider_for("https://upstream.example/v1", ssl_verify=str(tmp_path / "missing-ca.pem"))
    with pytest.raises(ConfigError, match="cannot load the TLS files"):
        provider_for("https://upstream.example/v1", ssl_certificate=str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="ssl_certificate_key needs ssl_certificate"):
        provider_for("https://upstream.example/v1", ssl_certificate_key=str(tmp_path / "k.pem"))
