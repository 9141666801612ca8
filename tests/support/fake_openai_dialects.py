"""Loopback stand-ins for the providers that speak OpenAI's bodies with their own paths, auth and error shapes,
in front of the shared OpenAI fake (tests.support.fake_upstream), which then answers the request:

- ``FakeAzureOpenAI``: Azure OpenAI's REST reference: `POST /openai/deployments/{deployment}/{operation}
  ?api-version=YYYY-MM-DD[-preview]` (or the versionless `/openai/v1/{operation}` with the deployment as
  `model`), authenticated by an `api-key` header or an Entra ID `Authorization: Bearer` token; Azure's errors
  (`{"error": {"code": "DeploymentNotFound" | "401" | "429", "message"}}`, 404 "Resource not found" without an
  api-version).
- ``FakeHostedOpenAI``: a hosted OpenAI-compatible API under a path prefix (Gemini's `/v1beta/openai`, Groq's
  `/openai/v1`, ...) with `Authorization: Bearer`; Google-style errors (`[{"error": {"code", "message",
  "status"}}]`, a list) when `google_errors` is set.

`fail_next(status, ...)` scripts the next answer as an error in the provider's own shape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson

from tests.support._fake_app import FakeUpstreamApp, FakeUpstreamConfig, Receive, Scope, Send

_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?|preview")
_AZURE_PATH = re.compile(r"/openai/deployments/(?P<deployment>[^/]+)/(?P<op>chat/completions|completions|embeddings)")
_AZURE_V1_PATH = re.compile(r"/openai/v1/(?P<op>chat/completions|embeddings)")
_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class _Front:
    def __init__(self) -> None:
        self.inner = FakeUpstreamApp(FakeUpstreamConfig(chunks=3, embedding_dim=4))
        self.seen: list[Seen] = []
        self._script: list[tuple[int, bytes, dict[str, str]]] = []

    def _fail_next(self, status: int, body: Any, headers: dict[str, str]) -> None:
        self._script.append((status, orjson.dumps(body), headers))

    async def _read(self, scope: Scope, receive: Receive) -> tuple[bytes, Receive]:
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope["query_string"].decode("latin-1"))
        parsed = orjson.loads(body) if body else None
        self.seen.append(Seen(scope["method"], scope["path"], query, headers, parsed))
        return body, replay

    async def _scripted(self, send: Send) -> bool:
        if not self._script:
            return False
        status, body, headers = self._script.pop(0)
        await respond(send, status, body, headers)
        return True

    async def _forward(self, scope: Scope, receive: Receive, send: Send, operation: str) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k != b"authorization"]
        headers.append((b"authorization", b"Bearer inner"))
        inner = {**scope, "path": "/v1/" + operation, "raw_path": b"/v1/" + operation.encode(), "headers": headers}
        await self.inner(inner, receive, send)


class FakeAzureOpenAI(_Front):
    def __init__(self, deployments: tuple[str, ...], api_key: str | None = None, ad_token: str | None = None) -> None:
        super().__init__()
        self.deployments = deployments
        self.api_key = api_key
        self.ad_token = ad_token

    def fail_next(self, status: int, code: str, message: str, **headers: str) -> None:
        self._fail_next(
            status, {"error": {"code": code, "message": message}}, {k.replace("_", "-"): v for k, v in headers.items()}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        _, receive = await self._read(scope, receive)
        seen = self.seen[-1]
        classic, v1 = _AZURE_PATH.fullmatch(scope["path"]), _AZURE_V1_PATH.fullmatch(scope["path"])
        match = classic or v1
        version = seen.query.get("api-version", [""])[0]
        if match is None or (classic and not version):
            await azure_error(send, 404, "404", "Resource not found")
            return
        if version and not _API_VERSION.fullmatch(version):
            await azure_error(send, 400, "BadRequest", "API version not supported")
            return
        key_ok = self.api_key is not None and seen.headers.get("api-key") == self.api_key
        token_ok = self.ad_token is not None and seen.headers.get("authorization") == f"Bearer {self.ad_token}"
        if not (key_ok or token_ok):
            await azure_error(
                send,
                401,
                "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid "
                "key for an active subscription and use a correct regional API endpoint for your resource.",
            )
            return
        deployment = classic.group("deployment") if classic else (seen.body or {}).get("model")
        if deployment not in self.deployments:
            await azure_error(
                send,
                404,
                "DeploymentNotFound",
                "The API deployment for this resource does not exist. If you created the deployment within the last "
                "5 minutes, please wait a moment and try again.",
            )
            return
        if await self._scripted(send):
            return
        await self._forward(scope, receive, send, match.group("op"))


class FakeHostedOpenAI(_Front):
    def __init__(
        self, prefix: str, api_key: str | None, *, google_errors: bool = False, forbidden: tuple[str, ...] = ()
    ) -> None:
        """`api_key` None: no authentication (Ollama). `forbidden`: body keys refused with Mistral's 422
        (`extra_forbidden`), as an API that validates strictly does."""
        super().__init__()
        self.forbidden = forbidden
        self.prefix = prefix.rstrip("/")
        self.api_key = api_key
        self.google_errors = google_errors

    def fail_next(self, status: int, message: str, **headers: str) -> None:
        self._fail_next(status, self._error(status, message), {k.replace("_", "-"): v for k, v in headers.items()})

    def _error(self, status: int, message: str) -> Any:
        if self.google_errors:
            return [{"error": {"code": status, "message": message, "status": _GOOGLE_STATUS.get(status, "UNKNOWN")}}]
        return {"error": {"message": message, "type": "invalid_request_error", "code": None}}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        _, receive = await self._read(scope, receive)
        path: str = scope["path"]
        operation = path.removeprefix(self.prefix + "/")
        if not path.startswith(self.prefix + "/") or operation not in ("chat/completions", "embeddings", "models"):
            await respond(send, 404, orjson.dumps(self._error(404, f"no route {path}")), {})
            return
        if self.api_key is not None and self.seen[-1].headers.get("authorization") != f"Bearer {self.api_key}":
            await respond(
                send, 401, orjson.dumps(self._error(401, "API key not valid. Please pass a valid API key.")), {}
            )
            return
        extra = [key for key in self.forbidden if key in (self.seen[-1].body or {})]
        if extra:
            detail = [{"type": "extra_forbidden", "loc": ["body", extra[0]], "msg": "Extra inputs are not permitted"}]
            error = {"object": "error", "message": {"detail": detail}, "type": "invalid_request_error", "code": None}
            await respond(send, 422, orjson.dumps(error), {})
            return
        if await self._scripted(send):
            return
        await self._forward(scope, receive, send, operation)


async def azure_error(send: Send, status: int, code: str, message: str) -> None:
    await respond(send, status, orjson.dumps({"error": {"code": code, "message": message}}), {})


async def respond(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})
