"""THE table from a gRPC status (with its google.rpc.Status details) to an HTTP status and OpenAI error body.

The OpenAI SDK picks its exception class from the HTTP status alone and retries 408/409/429/5xx, so the status
must be right (DESIGN.md §4). Details come from the `grpc-status-details-bin` trailer: ErrorInfo (reason,
metadata), BadRequest (the field -> `param`) and RetryInfo (-> `retry-after`)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from starlette.responses import Response

from .responses import json_response

Code = grpc.StatusCode

STATUS_DETAILS_KEY = "grpc-status-details-bin"
_RATELIMIT_PREFIX = "x-ratelimit-"


@dataclass(frozen=True, slots=True)
class Row:
    status: int
    type: str | None
    code: str | None = None
    should_retry: bool | None = None


# gRPC code -> HTTP status, error.type, error.code. RESOURCE_EXHAUSTED is split by ErrorInfo reason below.
TABLE: dict[Code, Row] = {
    Code.INVALID_ARGUMENT: Row(400, "invalid_request_error"),
    Code.OUT_OF_RANGE: Row(400, "invalid_request_error"),
    Code.FAILED_PRECONDITION: Row(400, "invalid_request_error"),
    Code.UNAUTHENTICATED: Row(401, "invalid_request_error", "invalid_api_key"),
    Code.PERMISSION_DENIED: Row(403, "permission_denied_error"),
    Code.NOT_FOUND: Row(404, "not_found_error"),
    Code.ALREADY_EXISTS: Row(409, "invalid_request_error", should_retry=False),
    Code.ABORTED: Row(409, "invalid_request_error"),
    Code.RESOURCE_EXHAUSTED: Row(429, "rate_limit_error", "rate_limit_exceeded"),
    Code.UNIMPLEMENTED: Row(501, "invalid_request_error"),
    Code.UNAVAILABLE: Row(503, "server_error"),
    Code.DEADLINE_EXCEEDED: Row(504, "timeout_error"),
    Code.CANCELLED: Row(499, "cancelled"),
    Code.INTERNAL: Row(500, "server_error"),
    Code.UNKNOWN: Row(500, "server_error"),
    Code.DATA_LOSS: Row(500, "server_error"),
}
QUOTA_ROW = Row(429, "insufficient_quota", "insufficient_quota", should_retry=False)
_DEFAULT_ROW = Row(500, "server_error")

# ErrorInfo reasons that give error.code a more precise value than the row's.
_REASON_CODES = {"MODEL_NOT_FOUND": "model_not_found", "TOKEN_EXPIRED": "invalid_api_key"}

# Messages for statuses whose own text must not reach the client (it may be a gRPC transport detail or, from a
# misbehaving server, a traceback).
_GENERIC_MESSAGES = {
    500: "The server had an error while processing your request.",
    503: "The service is temporarily unavailable. Please retry.",
    504: "The request timed out.",
    499: "The request was cancelled.",
}

# The error.type for an upstream's HTTP status passed through as is.
_TYPES_BY_STATUS = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_denied_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    504: "timeout_error",
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
        row = TABLE.get(code, _DEFAULT_ROW)
        error = OpenAIError(
            status=upstream,
            message=text or _GENERIC_MESSAGES.get(upstream, "The upstream returned an error."),
            type=details.metadata.get("upstream_type") or _TYPES_BY_STATUS.get(upstream, row.type or "server_error"),
            param=details.field,
            code=details.metadata.get("upstream_code"),
        )
    else:
        quota = code == Code.RESOURCE_EXHAUSTED and details.reason == "QUOTA_EXCEEDED"
        row = QUOTA_ROW if quota else TABLE.get(code, _DEFAULT_ROW)
        if row.status >= 500 or row.status == 499:
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
        if key.startswith(_RATELIMIT_PREFIX):
            error.headers[key] = value
    return error


def from_rpc_error(error: grpc.aio.AioRpcError) -> OpenAIError:
    return from_status(error.code(), error.details(), error.trailing_metadata())


def invalid_request(message: str, param: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, "invalid_request_error", param)


def server_error(message: str = _GENERIC_MESSAGES[500]) -> OpenAIError:
    return OpenAIError(500, message, "server_error")


def error_response(error: OpenAIError, request_id: str | None = None) -> Response:
    headers = dict(error.headers)
    if request_id:
        headers["x-request-id"] = request_id
    return json_response(error.body(), error.status, headers)
