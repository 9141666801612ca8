"""Each row of the error table as the client sees it: HTTP status, SDK exception class, body, headers."""

from __future__ import annotations

import httpx2
import openai
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROWS = [
    # (scripted error, HTTP status, SDK exception, error.type, error.code, error.param)
    ("invalid", 400, openai.BadRequestError, "invalid_request_error", None, "messages[0].content"),
    ("precondition", 400, openai.BadRequestError, "invalid_request_error", None, None),
    ("unauthenticated", 401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key", None),
    ("expired", 401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key", None),
    ("forbidden", 403, openai.PermissionDeniedError, "permission_denied_error", None, None),
    ("model_not_found", 404, openai.NotFoundError, "not_found_error", "model_not_found", "model"),
    ("exists", 409, openai.ConflictError, "invalid_request_error", None, None),
    ("rate", 429, openai.RateLimitError, "rate_limit_error", "rate_limit_exceeded", None),
    ("quota", 429, openai.RateLimitError, "insufficient_quota", "insufficient_quota", None),
    ("unsupported", 501, openai.InternalServerError, "invalid_request_error", None, None),
    ("unavailable", 503, openai.InternalServerError, "server_error", None, None),
    ("timeout", 504, openai.InternalServerError, "timeout_error", None, None),
    ("upstream_422", 422, openai.UnprocessableEntityError, "invalid_request_error", "x1", None),
    ("upstream_502", 502, openai.InternalServerError, "server_error", None, None),
]


@pytest.mark.parametrize(("name", "status", "exc_class", "kind", "code", "param"), ROWS, ids=[r[0] for r in ROWS])
async def test_error_row_via_sdk(
    client: openai.AsyncOpenAI,
    name: str,
    status: int,
    exc_class: type[openai.APIStatusError],
    kind: str,
    code: str | None,
    param: str | None,
) -> None:
    with pytest.raises(exc_class) as info:
        await client.chat.completions.create(model=f"error:{name}", messages=[{"role": "user", "content": "x"}])
    error = info.value
    assert error.status_code == status
    assert isinstance(error.body, dict)
    assert error.body["type"] == kind and error.body["code"] == code and error.body["param"] == param
    assert error.body["message"]
    assert error.response.headers["x-request-id"]


async def test_rate_limit_headers(http: httpx2.AsyncClient) -> None:
    rate = await http.post("/v1/embeddings", json={"model": "error:rate", "input": "x"})
    quota = await http.post("/v1/embeddings", json={"model": "error:quota", "input": "x"})
    exists = await http.post("/v1/embeddings", json={"model": "error:exists", "input": "x"})
    assert rate.status_code == 429
    assert rate.headers["retry-after"] == "2" and rate.headers["retry-after-ms"] == "1500"
    assert rate.headers["x-ratelimit-limit-requests"] == "10"
    assert rate.headers["x-ratelimit-remaining-requests"] == "0"
    assert quota.headers["x-should-retry"] == "false"
    assert exists.headers["x-should-retry"] == "false"


async def test_upstream_message_passes_through(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as info:
        await client.completions.create(model="error:upstream_422", prompt="x")
    assert info.value.body["message"] == "Upstream says: bad schema"  # type: ignore[index]


async def test_crash_is_500_without_trace(http: httpx2.AsyncClient) -> None:
    response = await http.post("/v1/completions", json={"model": "crash", "prompt": "x"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error"
    assert "Traceback" not in response.text and "secret.py" not in response.text


async def test_cancelled_is_499(http: httpx2.AsyncClient) -> None:
    response = await http.post("/v1/embeddings", json={"model": "cancelled", "input": "x"})
    assert response.status_code == 499
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


CLIENT_ERRORS = [
    # (method, path, raw body or json, status, param)
    ("POST", "/v1/chat/completions", b"{not json", 400, None),
    ("POST", "/v1/chat/completions", b"", 400, None),
    ("POST", "/v1/chat/completions", b"[1, 2]", 400, None),
    ("POST", "/v1/chat/completions", {"model": "m"}, 400, "messages"),
    ("POST", "/v1/chat/completions", {"messages": []}, 400, "model"),
    ("POST", "/chat/completions", {"model": "m", "messages": "hi"}, 400, "messages"),
    ("POST", "/v1/chat/completions", {"model": "m", "messages": [], "max_tokens": "abc"}, 400, "max_tokens"),
    ("POST", "/v1/chat/completions", {"model": "m", "messages": [], "temperature": True}, 400, "temperature"),
    ("POST", "/v1/chat/completions", {"model": "m", "messages": [], "stream": "yes"}, 400, "stream"),
    (
        "POST",
        "/v1/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]},
        400,
        "messages[1].role",
    ),
    ("POST", "/v1/completions", {"model": "m"}, 400, "prompt"),
    ("POST", "/v1/embeddings", {"model": "m"}, 400, "input"),
    ("GET", "/v1/nope", None, 404, None),
    ("GET", "/nope/deeper", None, 404, None),
    ("GET", "/v1/chat/completions", None, 405, None),
    ("DELETE", "/v1/models", None, 405, None),
    ("POST", "/v1/health", None, 405, None),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "param"), CLIENT_ERRORS)
async def test_client_error_shapes(
    http: httpx2.AsyncClient, method: str, path: str, body: object, status: int, param: str | None
) -> None:
    if isinstance(body, bytes):
        response = await http.request(method, path, content=body)
    elif body is None:
        response = await http.request(method, path)
    else:
        response = await http.request(method, path, json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"message", "type", "param", "code"}
    assert payload["error"]["param"] == param
    assert payload["error"]["type"] == "invalid_request_error"
    if param is not None:
        assert param in payload["error"]["message"]
    if status == 405:
        assert response.headers["allow"]
