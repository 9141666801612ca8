"""One batch line through the inference pipeline, as a live request of the batch's creator: the same model
resolution and exclusions, rate-limit admission, routing with retries and fallbacks, and usage record. The
result is the line of the output file (a response) or of the error file (an error, with its status and
OpenAI's error body)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aqueduct.v1 import error_reason_pb2

from aqueduct_contract import http_row
from aqueduct_openai import (
    CodecError,
    chat_completion_to_json,
    chat_params_from_json,
    completion_params_from_json,
    completion_to_json,
    embedding_list_to_json,
    embedding_params_from_json,
)
from core.auth.principal import Principal, Role
from core.batches.model import new_request_id
from core.errors import AqueductError, RateLimited, UpstreamError
from core.inference.caller import Caller
from core.inference.chat import ChatInference
from core.inference.completion import CompletionInference
from core.inference.embedding import EmbeddingInference
from core.inference.pipeline import InferenceDeps
from core.request_context import RequestContext

USER_AGENT = "aqueduct-batch"
# Request keys a batch line may not set: a line's answer is one JSON body, never a stream.
_STREAM_KEYS = ("stream", "stream_options")
_REASON_CODES = {"MODEL_NOT_FOUND": "model_not_found"}
# How core.governance.limits.admission words a request that exceeds a limit on its own.
_TOO_LARGE = "Request too large"


class LineRateLimited(Exception):
    """The creator's rate limits have no room now: the line goes back to pending, to run later."""

    def __init__(self, retry_after: float | None) -> None:
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class LineOutcome:
    ok: bool
    line: dict[str, Any]  # the output (or error) file's line


def principal_to_json(p: Principal) -> str:
    return json.dumps({f.name: getattr(p, f.name) for f in dataclasses.fields(p)} | {"role": p.role.value})


def principal_from_json(raw: str) -> Principal:
    data = json.loads(raw)
    data["role"] = Role(data["role"])
    return Principal(**data)


Run = Callable[[dict[str, Any], Caller], Awaitable[dict[str, Any]]]


class LineRunner:
    def __init__(self, deps: InferenceDeps, limit_share: float = 1.0) -> None:
        self._share = limit_share
        chat, completion, embedding = ChatInference(deps), CompletionInference(deps), EmbeddingInference(deps)

        async def run_chat(body: dict[str, Any], caller: Caller) -> dict[str, Any]:
            return chat_completion_to_json(await chat.create(chat_params_from_json(body), caller))

        async def run_completion(body: dict[str, Any], caller: Caller) -> dict[str, Any]:
            return completion_to_json(await completion.create(completion_params_from_json(body), caller))

        async def run_embedding(body: dict[str, Any], caller: Caller) -> dict[str, Any]:
            return embedding_list_to_json(await embedding.create(embedding_params_from_json(body), caller))

        self._runs: dict[str, Run] = {
            "/v1/chat/completions": run_chat,
            "/v1/completions": run_completion,
            "/v1/embeddings": run_embedding,
        }

    async def run(self, endpoint: str, custom_id: str, body_text: str, principal: Principal) -> LineOutcome:
        """The line's outcome; raises LineRateLimited when admission refused it for now."""
        request_id = new_request_id()
        caller = Caller(
            principal=principal,
            request=RequestContext(
                request_id=request_id,
                endpoint_method="POST",
                endpoint_path=endpoint,
                user_agent=USER_AGENT,
                client_addr=None,
            ),
            limit_share=self._share,
        )
        body = orjson.loads(body_text)
        for key in _STREAM_KEYS:
            body.pop(key, None)
        try:
            response = await self._runs[endpoint](body, caller)
        except RateLimited as exc:
            # A window without room now: the line waits. A request larger than the limit itself never fits.
            if exc.reason == error_reason_pb2.ERROR_REASON_RATE_LIMITED and not exc.message.startswith(_TOO_LARGE):
                raise LineRateLimited(exc.retry_after) from None
            return _failed(request_id, custom_id, exc)
        except CodecError as exc:
            error = {"message": exc.message, "type": "invalid_request_error", "param": exc.field, "code": None}
            return _error_line(request_id, custom_id, 400, error)
        except AqueductError as exc:
            return _failed(request_id, custom_id, exc)
        line = {
            "id": request_id,
            "custom_id": custom_id,
            "response": {"status_code": 200, "request_id": request_id, "body": response},
            "error": None,
        }
        return LineOutcome(True, line)


def _failed(request_id: str, custom_id: str, exc: AqueductError) -> LineOutcome:
    """An error line with the status and OpenAI error body the façade would have answered."""
    reason = error_reason_pb2.ErrorReason.Name(exc.reason).removeprefix("ERROR_REASON_")
    row = http_row(exc.code, reason)
    status = exc.status if isinstance(exc, UpstreamError) else row.status
    code = _REASON_CODES.get(reason) or exc.metadata.get("upstream_code") or row.code
    error = {"message": exc.message, "type": row.type, "param": exc.field, "code": code}
    return _error_line(request_id, custom_id, status, error)


def _error_line(request_id: str, custom_id: str, status: int, error: dict[str, Any]) -> LineOutcome:
    line = {
        "id": request_id,
        "custom_id": custom_id,
        "response": {"status_code": status, "request_id": request_id, "body": {"error": error}},
        "error": None,
    }
    return LineOutcome(False, line)


def unrun_line(custom_id: str, code: str, message: str) -> dict[str, Any]:
    """A line that never ran (the batch expired first): no response, OpenAI's top-level error."""
    return {
        "id": new_request_id(),
        "custom_id": custom_id,
        "response": None,
        "error": {"code": code, "message": message},
    }


def internal_error_line(custom_id: str) -> dict[str, Any]:
    request_id = new_request_id()
    error = {
        "message": "The server had an error while processing your request.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    return _error_line(request_id, custom_id, 500, error).line
