"""The gRPC metadata the façade forwards to core, built from a request scope (no sockets)."""

from __future__ import annotations

import contextvars

from starlette.requests import Request

from http_facade.forwarding import forwarded


def make_request(headers: dict[str, str], client: tuple[str, int] | None = ("10.1.2.3", 5555)) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/chat/completions",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": client,
    }
    return Request(scope)


def test_forwards_the_four_keys_and_authorization() -> None:
    request = make_request({"Authorization": "Bearer sk-1", "User-Agent": "OpenAI/Python 3.57", "X-Request-Id": "r1"})
    result = forwarded(request, "POST /v1/chat/completions", 128)
    assert result.request_id == "r1"
    assert dict(result.metadata) == {
        "x-request-id": "r1",
        "x-aqueduct-endpoint": "POST /v1/chat/completions",
        "authorization": "Bearer sk-1",
        "x-aqueduct-user-agent": "OpenAI/Python 3.57",
        "x-aqueduct-client-addr": "10.1.2.3",
    }


def test_generates_request_id_and_skips_missing_headers() -> None:
    result = forwarded(make_request({}, client=None), "GET /v1/models", 128)
    assert len(result.request_id) == 32
    assert dict(result.metadata) == {"x-request-id": result.request_id, "x-aqueduct-endpoint": "GET /v1/models"}


def test_unusable_values_are_not_forwarded() -> None:
    request = make_request({"X-Request-Id": "x" * 200, "User-Agent": "caf\xe9", "Authorization": "Bearer \xe9"})
    result = forwarded(request, "POST /v1/embeddings", 128)
    metadata = dict(result.metadata)
    assert result.request_id != "x" * 200 and len(result.request_id) == 32
    assert "x-aqueduct-user-agent" not in metadata and "authorization" not in metadata


def test_the_facade_credential_is_sent_when_configured() -> None:
    sent = dict(forwarded(make_request({}), "GET /v1/models", 128, "s3cret").metadata)
    assert sent["x-aqueduct-facade-credential"] == "s3cret"
    assert "x-aqueduct-facade-credential" not in dict(forwarded(make_request({}), "GET /v1/models", 128).metadata)


def test_core_reads_what_the_facade_forwards() -> None:
    # Both sides take the keys from aqueduct_contract; this checks the two ends of the wire fit together.
    from core.request_context import RequestContext, mark_from_facade

    request = make_request({"User-Agent": "OpenAI/Python 3.57", "X-Request-Id": "r1"})
    sent = forwarded(request, "POST /v1/embeddings", 128).metadata

    def read() -> RequestContext:
        mark_from_facade(True)  # what the auth interceptor does once the credential checked out
        return RequestContext.from_metadata(sent, "/aqueduct.v1.EmbeddingService/CreateEmbeddings", "ipv4:127.0.0.1:1")

    context = contextvars.copy_context().run(read)
    assert context == RequestContext(
        request_id="r1",
        endpoint_method="POST",
        endpoint_path="/v1/embeddings",
        user_agent="OpenAI/Python 3.57",
        client_addr="10.1.2.3",
    )


def test_core_ignores_forwarded_facts_from_anyone_else() -> None:
    from core.request_context import RequestContext

    sent = (*forwarded(make_request({"User-Agent": "spoofed-agent"}), "POST /v1/embeddings", 128).metadata,)
    sent += (("user-agent", "grpc-python/1.85"),)
    context = RequestContext.from_metadata(sent, "/aqueduct.v1.EmbeddingService/CreateEmbeddings", "ipv6:[::1]:7")
    assert (context.endpoint_method, context.endpoint_path) == (
        "GRPC",
        "/aqueduct.v1.EmbeddingService/CreateEmbeddings",
    )
    assert (context.user_agent, context.client_addr) == ("grpc-python/1.85", "::1")
