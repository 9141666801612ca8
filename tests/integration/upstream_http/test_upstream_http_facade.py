"""What an OpenAI SDK client sees through the real façade and core when the upstream redirects or its TLS
certificate cannot be verified: a 502 naming the Location, a clean 503; never a generic 500."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpx2
import openai
import pytest
import trustme

from tests.integration.resilience.resilience_harness import facade, gateway, settings_of
from tests.integration.upstream_http.raw_upstream import RawUpstream, Request, response

MESSAGES: Any = [{"role": "user", "content": "hi"}]


def _entry(api_base: str) -> dict[str, Any]:
    return {"model_name": "m", "litellm_params": {"model": "openai/up", "api_base": api_base, "api_key": "sk-up"}}


async def _moved(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(response("308 Permanent Redirect", b"", "location: https://upstream.example/v1/chat/completions"))
    return True


async def test_a_redirect_reaches_the_client_as_a_502_naming_the_location() -> None:
    async with RawUpstream(_moved) as upstream:
        settings = settings_of(_entry(upstream.base_url()), num_retries=0)
        async with gateway(settings) as gw, facade(gw.target) as base_url, httpx2.AsyncClient() as http:
            client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-x", max_retries=0, http_client=http)
            with pytest.raises(openai.APIStatusError) as info:
                await client.chat.completions.create(model="m", messages=MESSAGES)
            with pytest.raises(openai.APIStatusError) as streamed:
                await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    for error in (info.value, streamed.value):
        assert error.status_code == 502
        body: Any = error.body
        assert body["type"] == "server_error"
        assert "HTTP 308" in body["message"] and "https://upstream.example/v1/chat/completions" in body["message"]
    assert len(upstream.requests) == 2


async def test_an_unverifiable_certificate_is_a_clean_503_and_the_log_names_the_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    async with RawUpstream(_moved, tls=context) as upstream:
        settings = settings_of(_entry(upstream.base_url()), num_retries=0)
        async with gateway(settings) as gw, facade(gw.target) as base_url, httpx2.AsyncClient() as http:
            client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-x", max_retries=0, http_client=http)
            with pytest.raises(openai.APIStatusError) as info:
                await client.chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.status_code == 503
    message = str(info.value.body)
    assert "unavailable" in message and "certificate" not in message and str(upstream.port) not in message
    assert "certificate verify failed" in caplog.text and "m#0" in caplog.text
    assert not upstream.requests
