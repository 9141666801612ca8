"""A failed gRPC call (status plus google.rpc.Status details) as an HTTP answer in OpenAI's error shape.

The status, error.type and error.code come from the one gRPC <-> HTTP table (aqueduct_contract.status,
DESIGN.md §4). Details come from the `grpc-status-details-bin` trailer: ErrorInfo (reason, metadata),
BadRequest (the field -> `param`) and RetryInfo (-> `retry-after`)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from starlette.responses import Response

from aqueduct_contract import CLIENT_CLOSED_REQUEST, grpc_code_for_http, http_row, is_response_header

from .responses import json_response

Code = grpc.StatusCode

STATUS_DETAILS_KEY = "grpc-status-details-bin"
# grpc-core's texts when a request exceeds the façade channel's send limit or core's receive limit.
_REQUEST_TOO_LARGE = ("CLIENT: Sent message larger than max", "SERVER: Received message larger than max")

# ErrorInfo reasons that give error.code a more precise value than the row's.
_REASON_CODES = {"MODEL_NOT_FOUND": "model_not_found", "TOKEN_EXPIRED": "invalid_api_key"}

# Messages for statuses whose own text must not reach the client (it may be a gRPC transport detail or, from a
# misbehaving server, a traceback).
_GENERIC_MESSAGES = {
    500: "The server had an error while processing your request.",
    503: "The service is temporarily unavailable. Please retry.",
    504: "The request timed out.",
    CLIENT_CLOSED_REQUEST: "The request was cancelled.",
}


@dataclass(slots=True)
class OpenAIError:
    """An HTTP error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` plus headers."""

    status: int
    message: str
    type: str | None
    param: str | None = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


@dataclass(slots=True)
class StatusDetails:
    reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    field: str | None = None
    retry_after_seconds: float | None = None


def parse_details(trailing_metadata: Iterable[tuple[str, str | bytes]] | None) -> StatusDetails:
    """The rich error details in a call's trailing metadata; empty when absent or unreadable."""
    details = StatusDetails()
    raw = None
    for key, value in trailing_metadata or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            raw = value
    if raw is None:
        return details
    try:
        status = status_pb2.Status.FromString(raw)
    except Exception:  # a malformed trailer must not turn an error into a crash
        return details
    for packed in status.details:
        info = error_details_pb2.ErrorInfo()
        bad = error_details_pb2.BadRequest()
        retry = error_details_pb2.RetryInfo()
        if packed.Unpack(info):
            details.reason = info.reason.removeprefix("ERROR_REASON_")
            details.metadata = dict(info.metadata)
        elif packed.Unpack(bad):
            if bad.field_violations and details.field is None:
                details.field = bad.field_violations[0].field or None
        elif packed.Unpack(retry):
            delay = retry.retry_delay
            details.retry_after_seconds = delay.seconds + delay.nanos / 1e9
    return details


def _upstream_status(details: StatusDetails) -> int | None:
    if details.reason != "UPSTREAM_ERROR":
        return None
    try:
        status = int(details.metadata.get("upstream_status", ""))
    except ValueError:
        return None
    return status if 400 <= status <= 599 else None


def from_status(
    code: Code, message: str | None, trailing_metadata: Iterable[tuple[str, str | bytes]] | None
) -> OpenAIError:
    """The one mapping. `message` is the status message core set (safe to show, except for 5xx without
    aqueduct details, which get a generic text)."""
    details = parse_details(trailing_metadata)
    text = message or ""
    upstream = _upstream_status(details)
    if upstream is not None:
        # The upstream's own status goes back as is; the error type is always ours (the table's), never the
        # upstream's text, which could carry anything (security review: a key came back through `type`).
        error = OpenAIError(
            status=upstream,
            message=text or _GENERIC_MESSAGES.get(upstream, "The upstream returned an error."),
            type=http_row(grpc_code_for_http(upstream)).type,
            param=details.field,
            code=details.metadata.get("upstream_code"),
        )
    elif code == Code.RESOURCE_EXHAUSTED and details.reason is None:
        # No aqueduct ErrorInfo: gRPC's own message-size limit, never a rate limit (core's carry a reason).
        error = _message_too_large(text)
    else:
        row = http_row(code, details.reason)
        if row.status >= 500 or row.status == CLIENT_CLOSED_REQUEST:
            # Core's own INTERNAL text is already safe ("internal error (request id ...)"); transport-level or
            # foreign statuses are not, so they are replaced.
            safe = details.reason is not None and row.status != 500
            if code == Code.INTERNAL and details.reason is None and text.startswith("internal error"):
                safe = True
            text = text if safe and text else _GENERIC_MESSAGES.get(row.status, _GENERIC_MESSAGES[500])
        error = OpenAIError(
            status=row.status,
            message=text or "The request failed.",
            type=row.type,
            param=details.field,
            code=_REASON_CODES.get(details.reason or "", row.code),
        )
        if row.should_retry is not None:
            error.headers["x-should-retry"] = "true" if row.should_retry else "false"
    if details.retry_after_seconds is not None:
        error.headers["retry-after"] = str(max(0, math.ceil(details.retry_after_seconds)))
        error.headers["retry-after-ms"] = str(max(0, round(details.retry_after_seconds * 1000)))
    for key, value in details.metadata.items():
        if is_response_header(key):  # a 429's x-ratelimit-* values
            error.headers[key] = value
    return error


def _message_too_large(grpc_text: str) -> OpenAIError:
    """A request over the limit is too big (413); otherwise core's answer was too big to relay (502). Retrying
    cannot help either, and the gRPC text is not shown."""
    if any(text in grpc_text for text in _REQUEST_TOO_LARGE):
        error = OpenAIError(413, "The request is too large.", "invalid_request_error", code="request_too_large")
    else:
        error = OpenAIError(502, "The upstream response is too large to relay.", "server_error")
    error.headers["x-should-retry"] = "false"
    return error


def from_rpc_error(error: grpc.aio.AioRpcError) -> OpenAIError:
    return from_status(error.code(), error.details(), error.trailing_metadata())


def invalid_request(message: str, param: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, "invalid_request_error", param)


def cancelled() -> OpenAIError:
    """The answer to a client that went away (never sent; it labels what the façade did)."""
    return OpenAIError(CLIENT_CLOSED_REQUEST, _GENERIC_MESSAGES[CLIENT_CLOSED_REQUEST], "cancelled")


def server_error(message: str = _GENERIC_MESSAGES[500]) -> OpenAIError:
    return OpenAIError(500, message, "server_error")


def error_response(error: OpenAIError, request_id: str | None = None) -> Response:
    headers = dict(error.headers)
    if request_id:
        headers["x-request-id"] = request_id
    return json_response(error.body(), error.status, headers)
