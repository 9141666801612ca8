"""Every route of the façade goes through the app's one middleware pipeline: a marker middleware added to an app
built by the real factory sees a request to each route (and to unknown paths and wrong methods), and an
exception raised inside each route gets the same OpenAI-shaped 500. In-process ASGI, no sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NoReturn

import httpx2
import pytest
import pytest_asyncio
from fastapi import FastAPI
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from http_facade.app import create_app

# A body every inference route's codec accepts (the keys one endpoint does not know pass through as extras).
BODY = {"model": "m", "messages": [{"role": "user", "content": "x"}], "prompt": "x", "input": "x"}
# Routes that take a multipart upload instead of JSON.
UPLOAD_PATHS = ("/audio/transcriptions", "/audio/translations")
BATCH_BODY = {"input_file_id": "file-abc", "endpoint": "/v1/chat/completions", "completion_window": "24h"}
SERVER_ERROR = {
    "error": {
        "message": "The server had an error while processing your request.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}


class Marker:
    """A pure-ASGI middleware that records every HTTP request it sees."""

    def __init__(self, app: ASGIApp, seen: list[tuple[str, str]]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


class BrokenChannel:
    """A channel to core whose every call raises a bare exception, so each route fails unexpectedly."""

    def unary_unary(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail

    def unary_stream(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail

    def stream_unary(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        return self._fail

    def _fail(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise RuntimeError("core exploded")

    async def close(self) -> None:
        return None


def requests_for(app: FastAPI) -> list[tuple[str, str]]:
    """(method, concrete path) for every method of every route of the app."""
    out = []
    for route in app.routes:
        assert isinstance(route, Route) and route.methods
        path = route.path.replace("{model_id:path}", "org/some-model")
        path = path.replace("{file_id}", "file-abc").replace("{batch_id}", "batch_abc")
        out.extend((method, path) for method in sorted(route.methods - {"HEAD"}))
    return out


@pytest_asyncio.fixture
async def app_and_seen() -> AsyncIterator[tuple[FastAPI, list[tuple[str, str]]]]:
    seen: list[tuple[str, str]] = []
    app = create_app("core.invalid:1", core_channel=lambda: BrokenChannel())  # type: ignore[arg-type,return-value]
    app.add_middleware(Marker, seen=seen)
    async with app.router.lifespan_context(app):
        yield app, seen


async def call(app: FastAPI, method: str, path: str) -> httpx2.Response:
    # Starlette re-raises an unexpected exception to the server after answering (for its log): the answer counts.
    transport = httpx2.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url="http://facade") as client:
        headers = {"x-request-id": f"rid-{method}{path}", "authorization": "Bearer sk-test"}
        if method == "POST" and path.endswith(UPLOAD_PATHS):
            files = {"model": (None, "m"), "file": ("a.mp3", b"audio")}
            return await client.request(method, path, files=files, headers=headers)
        if method == "POST" and path.endswith("/files"):  # uploads are multipart
            return await client.post(
                path, data={"purpose": "batch"}, files={"file": ("a.jsonl", b"{}")}, headers=headers
            )
        body = BATCH_BODY if method == "POST" and path.endswith("/batches") else BODY if method == "POST" else None
        return await client.request(method, path, json=body, headers=headers)


async def test_every_route_is_enumerated() -> None:
    app = create_app("core.invalid:1")
    paths = {path for _, path in requests_for(app)}
    for surface in ("/chat/completions", "/completions", "/embeddings", "/models", "/models/org/some-model", "/health"):
        assert {f"/v1{surface}", surface} <= paths


async def test_each_route_passes_the_middleware_and_answers_an_exception_alike(
    app_and_seen: tuple[FastAPI, list[tuple[str, str]]], caplog: pytest.LogCaptureFixture
) -> None:
    app, seen = app_and_seen
    for method, path in requests_for(app):
        response = await call(app, method, path)
        assert response.status_code == 500, (method, path)
        assert response.json() == SERVER_ERROR, (method, path)
        assert response.headers["x-request-id"] == f"rid-{method}{path}"
        assert response.headers["content-type"] == "application/json"
    assert seen == requests_for(app)
    # Logged once per request with the request id; the client never sees the exception's text.
    errors = [r.getMessage() for r in caplog.records if r.name == "aqueduct.facade"]
    assert len(errors) == len(seen)
    assert all(f"request id rid-{method}{path}" in line for line, (method, path) in zip(errors, seen, strict=True))


async def test_unknown_paths_and_wrong_methods_pass_the_middleware_too(
    app_and_seen: tuple[FastAPI, list[tuple[str, str]]],
) -> None:
    app, seen = app_and_seen
    missing = await call(app, "POST", "/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_url"
    wrong = await call(app, "GET", "/v1/chat/completions")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "POST"
    assert seen == [("POST", "/v1/nothing-here"), ("GET", "/v1/chat/completions")]


async def test_a_body_that_is_not_json_is_a_400(app_and_seen: tuple[FastAPI, list[tuple[str, str]]]) -> None:
    app, _ = app_and_seen
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://facade") as client:
        response = await client.post(
            "/v1/chat/completions", content=b"{not json", headers={"authorization": "Bearer sk-test"}
        )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
