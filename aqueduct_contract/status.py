"""THE table between gRPC status codes and HTTP statuses (DESIGN.md §4), read in both directions.

- gRPC -> HTTP: the façade answers a failed call with the row's status, error.type and error.code; core labels
  usage records with the same status, so they show what the client was answered.
- HTTP -> gRPC: an upstream's HTTP error leaves core with the code whose row gives the same status back.

The OpenAI SDK picks its exception class from the HTTP status alone and retries 408/409/429/5xx, so the status
must be right."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import grpc

Code = grpc.StatusCode

# nginx's "client closed request": the caller went away before the answer.
CLIENT_CLOSED_REQUEST = 499


@dataclass(frozen=True, slots=True)
class HttpRow:
    """How a gRPC status reaches an HTTP client: the status, OpenAI's error.type and error.code, and whether
    the SDK is told not to retry (`x-should-retry`; None sends no header)."""

    status: int
    type: str
    code: str | None = None
    should_retry: bool | None = None


_ROWS: dict[Code, HttpRow] = {
    Code.INVALID_ARGUMENT: HttpRow(400, "invalid_request_error"),
    Code.OUT_OF_RANGE: HttpRow(400, "invalid_request_error"),
    Code.FAILED_PRECONDITION: HttpRow(400, "invalid_request_error"),
    Code.UNAUTHENTICATED: HttpRow(401, "invalid_request_error", "invalid_api_key"),
    Code.PERMISSION_DENIED: HttpRow(403, "permission_denied_error"),
    Code.NOT_FOUND: HttpRow(404, "not_found_error"),
    Code.ALREADY_EXISTS: HttpRow(409, "invalid_request_error", should_retry=False),
    Code.ABORTED: HttpRow(409, "invalid_request_error"),
    Code.RESOURCE_EXHAUSTED: HttpRow(429, "rate_limit_error", "rate_limit_exceeded"),
    Code.UNIMPLEMENTED: HttpRow(501, "invalid_request_error"),
    Code.UNAVAILABLE: HttpRow(503, "server_error"),
    Code.DEADLINE_EXCEEDED: HttpRow(504, "timeout_error"),
    Code.CANCELLED: HttpRow(CLIENT_CLOSED_REQUEST, "cancelled"),
    Code.INTERNAL: HttpRow(500, "server_error"),
    Code.UNKNOWN: HttpRow(500, "server_error"),
    Code.DATA_LOSS: HttpRow(500, "server_error"),
}
# RESOURCE_EXHAUSTED is split by ErrorInfo reason: a spent budget is not worth retrying, a rate limit is.
QUOTA_EXCEEDED_REASON = "QUOTA_EXCEEDED"
_QUOTA_ROW = HttpRow(429, "insufficient_quota", "insufficient_quota", should_retry=False)
_DEFAULT_ROW = HttpRow(500, "server_error")

GRPC_TO_HTTP: Mapping[Code, HttpRow] = MappingProxyType(_ROWS)

# The inverse: for each HTTP status the first code listed above that maps to it, plus the statuses that have no
# code of their own. CANCELLED stays out: it is the caller's own act, never an upstream's answer.
_HTTP_TO_GRPC: dict[int, Code] = {
    **{row.status: code for code, row in reversed(_ROWS.items()) if code != Code.CANCELLED},
    408: Code.DEADLINE_EXCEEDED,
    422: Code.INVALID_ARGUMENT,
}


def http_row(code: Code, reason: str | None = None) -> HttpRow:
    """The row for a status code and its ErrorInfo reason (without the ERROR_REASON_ prefix)."""
    if code == Code.RESOURCE_EXHAUSTED and reason == QUOTA_EXCEEDED_REASON:
        return _QUOTA_ROW
    return _ROWS.get(code, _DEFAULT_ROW)


def http_status(code: Code) -> int:
    return _ROWS.get(code, _DEFAULT_ROW).status


def grpc_code_for_http(status: int) -> Code:
    """The code for an upstream's HTTP error status; other 4xx are the request's fault, other 5xx internal."""
    code = _HTTP_TO_GRPC.get(status)
    if code is not None:
        return code
    return Code.INVALID_ARGUMENT if 400 <= status < 500 else Code.INTERNAL
