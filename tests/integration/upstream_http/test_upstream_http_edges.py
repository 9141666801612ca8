"""HTTP/1.1 edge cases between a provider and byte-level upstream servers on 127.0.0.1: interim 1xx heads,
bodiless statuses, every body framing, compression, redirects, credentials in api_base, and the rule that a
POST is never sent twice."""

from __future__ import annotations

import asyncio
import base64
import gzip
import zlib
from collections.abc import Callable

import pytest

from core.errors import UpstreamError, UpstreamUnavailable
from core.providers import OpenAICompatibleProvider, ProviderPool
from core.routing import ModelRegistry
from core.settings import ConfigError, Settings
from tests.integration.upstream_http.raw_upstream import (
    CHAT,
    CHAT_BODY,
    CHAT_RESULT,
    RawUpstream,
    Request,
    answer_json,
    provider_for,
    response,
)


async def _chat_then_stream(provider: OpenAICompatibleProvider) -> None:
    assert await provider.chat_completion(CHAT, request_id="r") == CHAT_RESULT
    stream = await provider.stream_chat_completion({**CHAT, "stream": True}, request_id="r")
    assert [e["choices"][0]["delta"]["content"] async for e in stream] == ["a", "b"]


SSE_BODY = (
    b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
    b'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"b"}}]}\n\n'
    b"data: [DONE]\n\n"
)


async def test_interim_100_and_103_heads_before_the_final_response() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        writer.write(b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n")
        if b'"stream":true' in request.body:
            writer.write(response("200 OK", SSE_BODY, "content-type: text/event-stream"))
        else:
            writer.write(response("200 OK", CHAT_BODY, "content-type: application/json"))
        return True

    async with RawUpstream(handler) as upstream:
        provider = provider_for(upstream.base_url())
        try:
            await _chat_then_stream(provider)
            assert await provider.chat_completion(CHAT, request_id="r") == CHAT_RESULT
        finally:
            await provider.aclose()
        assert upstream.connections == 1 and len(upstream.requests) == 3


@pytest.mark.parametrize(
    ("status", "message"),
    [("204 No Content", "malformed JSON response"), ("304 Not Modified", "neither a result nor an error")],
)
async def test_bodiless_statuses_end_at_the_head_and_keep_the_connection(status: str, message: str) -> None:
    answers = [response(status, length=False), response("200 OK", CHAT_BODY, "content-type: application/json")]

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(answers.pop(0))
        return True

    async with RawUpstream(handler) as upstream:
        provider = provider_for(upstream.base_url())
        try:
            with pytest.raises(UpstreamError, match=message) as info:
                await provider.chat_completion(CHAT, request_id="r")
            assert info.value.upstream_status == 502
            assert await provider.chat_completion(CHAT, request_id="r") == CHAT_RESULT
        finally:
            await provider.aclose()
        assert upstream.connections == 1


def _chunked(body: bytes) -> bytes:
    middle = len(body) // 2
    parts = (body[:middle], body[middle:])
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


FRAMINGS: dict[str, Callable[[bytes, str], tuple[bytes, bool]]] = {
    "content-length": lambda body, ctype: (response("200 OK", body, ctype), True),
    "chunked": lambda body, ctype: (
        response("200 OK", _chunked(body), ctype, "transfer-encoding: chunked", length=False),
        True,
    ),
    # No length and no chunking: the body ends when the server closes the connection.
    "close-delimited": lambda body, ctype: (response("200 OK", body, ctype, "connection: close", length=False), False),
}


@pytest.mark.parametrize("framing", list(FRAMINGS))
async def test_every_body_framing_for_json_and_event_streams(framing: str) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        stream = b'"stream":true' in request.body
        body, ctype = (SSE_BODY, "content-type: text/event-stream") if stream else (CHAT_BODY, "content-type: json")
        raw, keep_open = FRAMINGS[framing](body, ctype)
        writer.write(raw)
        return keep_open

    async with RawUpstream(handler) as upstream:
        provider = provider_for(upstream.base_url())
        try:
            await _chat_then_stream(provider)
            assert await provider.embeddings({"model": "public", "input": "x"}, request_id="r") == CHAT_RESULT
        finally:
            await provider.aclose()
        assert upstream.connections == (1 if framing != "close-delimited" else 3)


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress)],
)
async def test_compressed_responses_are_asked_for_and_decoded(
    encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if b'"stream":true' in request.body:
            body = _chunked(compress(SSE_BODY))
            writer.write(
                response(
                    "200 OK",
                    body,
                    "content-type: text/event-stream",
                    f"content-encoding: {encoding}",
                    "transfer-encoding: chunked",
                    length=False,
                )
            )
        else:
            ctype, cenc = "content-type: application/json", f"content-encoding: {encoding}"
            writer.write(response("200 OK", compress(CHAT_BODY), ctype, cenc))
        return True

    async with RawUpstream(handler) as upstream:
        provider = provider_for(upstream.base_url())
        try:
            await _chat_then_stream(provider)
        finally:
            await provider.aclose()
    accepted = {v.strip() for v in upstream.requests[0].headers["accept-encoding"].split(",")}
    assert {"gzip", "deflate"} <= accepted


async def test_a_redirect_is_not_followed_and_names_its_location() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        location = "location: https://upstream.example/v1/chat/completions"
        writer.write(response("301 Moved Permanently", b"moved", location, "content-type: text/plain"))
        return True

    async with RawUpstream(handler) as upstream:
        provider = provider_for(upstream.base_url())
        try:
            with pytest.raises(UpstreamError) as info:
                await provider.chat_completion(CHAT, request_id="r")
            with pytest.raises(UpstreamError):
                await provider.stream_chat_completion({**CHAT, "stream": True}, request_id="r")
        finally:
            await provider.aclose()
    assert info.value.upstream_status == 502
    assert "HTTP 301" in info.value.message and "https://upstream.example/v1/chat/completions" in info.value.message
    assert [r.line.split(" ")[0] for r in upstream.requests] == ["POST", "POST"]  # never a GET to the Location


async def test_credentials_in_api_base_go_as_basic_auth_never_in_the_host_header() -> None:
    async with RawUpstream(answer_json) as upstream:
        provider = provider_for(upstream.base_url().replace("http://", "http://alice:s%40cret@"))
        try:
            assert await provider.chat_completion(CHAT, request_id="r") == CHAT_RESULT
        finally:
            await provider.aclose()
    seen = upstream.requests[0]
    assert seen.line == "POST /v1/chat/completions HTTP/1.1"
    assert seen.headers["host"] == f"127.0.0.1:{upstream.port}"
    assert seen.headers["authorization"] == "Basic " + base64.b64encode(b"alice:s@cret").decode()
    assert "alice" not in seen.headers["host"] and "cret" not in str(seen.headers.get("x-request-id"))


def test_credentials_in_api_base_and_an_api_key_are_refused_at_startup() -> None:
    with pytest.raises(ConfigError, match="user name and password and api_key"):
        provider_for("https://alice:secret@upstream.example/v1", api_key="sk-1")


def test_header_values_that_would_split_the_request_head_are_refused_at_startup() -> None:
    with pytest.raises(ConfigError, match="'authorization' header contains a line break") as info:
        provider_for("https://upstream.example/v1", api_key="sk-1\r\nx-injected: 1")
    assert "sk-1" not in str(info.value)
    with pytest.raises(ConfigError, match="'x-org' header"):
        provider_for("https://upstream.example/v1", extra_headers={"x-org": "a\nb"})


async def test_a_post_is_never_sent_twice_when_the_upstream_closes_without_answering() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        return False  # read the request, then close without a word

    async with RawUpstream(handler) as upstream:
        provider = provider_for(upstream.base_url())
        try:
            with pytest.raises(UpstreamUnavailable):
                await provider.chat_completion(CHAT, request_id="r")
        finally:
            await provider.aclose()
    assert len(upstream.requests) == 1 and upstream.connections == 1


async def test_a_reused_connection_that_fails_after_the_request_was_written_is_not_replayed() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if len(upstream.requests) == 1:
            writer.write(response("200 OK", CHAT_BODY, "content-type: application/json"))
            return True
        return False  # the second request on the kept-alive connection: processed, never answered

    async with RawUpstream(handler) as upstream:
        provider = provider_for(upstream.base_url())
        try:
            assert await provider.chat_completion(CHAT, request_id="first") == CHAT_RESULT
            with pytest.raises(UpstreamUnavailable):
                await provider.chat_completion(CHAT, request_id="second")
        finally:
            await provider.aclose()
    assert [r.headers["x-request-id"] for r in upstream.requests] == ["first", "second"]
    assert upstream.connections == 1


async def test_an_idle_connection_the_upstream_closed_is_replaced_before_anything_is_written() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        # Announces keep-alive, then drops the connection once the answer is out (an idle-timeout race).
        writer.write(response("200 OK", CHAT_BODY, "content-type: application/json"))
        return False

    async with RawUpstream(handler) as upstream:
        provider = provider_for(upstream.base_url())
        try:
            assert await provider.chat_completion(CHAT, request_id="first") == CHAT_RESULT
            await upstream.closed.wait()
            assert await provider.chat_completion(CHAT, request_id="second") == CHAT_RESULT
        finally:
            await provider.aclose()
    assert [r.headers["x-request-id"] for r in upstream.requests] == ["first", "second"]
    assert upstream.connections == 2


@pytest.mark.parametrize(("limit", "connections"), [(1, 1), (4, 2)])
async def test_connections_per_upstream_are_bounded_by_configuration(limit: int, connections: int) -> None:
    async with RawUpstream(answer_json) as upstream:
        entry = {"model_name": "m", "litellm_params": {"model": "openai/raw", "api_base": upstream.base_url()}}
        settings = Settings.model_validate({"model_list": [entry], "upstream_max_connections": limit})
        registry = ModelRegistry.from_settings(settings)
        pool = ProviderPool.build(registry.deployments, settings)
        provider = pool.get(registry.deployments[0])
        try:
            answers = await asyncio.gather(*(provider.chat_completion(CHAT, request_id=str(i)) for i in range(2)))
        finally:
            await pool.aclose()
    assert answers == [CHAT_RESULT, CHAT_RESULT]
    assert upstream.connections == connections


async def test_an_upstream_error_is_scrubbed_of_every_configured_deployments_credentials() -> None:
    other_key, header_key = "other-deployment-key-123", "azure-style-api-key-456"

    async def echo_everything(request: Request, writer: asyncio.StreamWriter) -> bool:
        message = f"saw {other_key} and {header_key} and {request.headers.get('authorization')}"
        body = b'{"error": {"message": "' + message.encode() + b'"}}'
        writer.write(response("400 Bad Request", body, "content-type: application/json"))
        return True

    async with RawUpstream(echo_everything) as upstream:
        entries = [
            {
                "model_name": "m",
                "litellm_params": {
                    "model": "openai/raw",
                    "api_base": upstream.base_url().replace("http://", "http://u:basic-pass-789@"),
                    "extra_headers": {"api-key": header_key},
                },
            },
            {
                "model_name": "n",
                "litellm_params": {"model": "openai/raw", "api_base": "http://127.0.0.1:9/v1", "api_key": other_key},
            },
        ]
        settings = Settings.model_validate({"model_list": entries})
        registry = ModelRegistry.from_settings(settings)
        pool = ProviderPool.build(registry.deployments, settings)
        try:
            with pytest.raises(UpstreamError) as info:
                await pool.get(registry.deployments[0]).chat_completion(CHAT, request_id="r")
        finally:
            await pool.aclose()
    assert info.value.message == "saw *** and *** and ***"
