"""Every row of the gRPC status -> HTTP + OpenAI error table, from trailing metadata as core sends it."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

from http_facade.errors import STATUS_DETAILS_KEY, from_status, parse_details

Code = grpc.StatusCode


def trailers(
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
    field: str | None = None,
    retry_after: float | None = None,
) -> tuple[tuple[str, bytes], ...]:
    details: list[Any] = []
    if reason is not None:
        details.append(error_details_pb2.ErrorInfo(reason=reason, domain="aqueduct", metadata=metadata or {}))
    if field is not None:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[error_details_pb2.BadRequest.FieldViolation(field=field, description="bad")]
            )
        )
    if retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(retry_after * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return ((STATUS_DETAILS_KEY, status_pb2.Status(code=3, message="m", details=packed).SerializeToString()),)


ROWS = [
    # (code, reason, http status, type, code)
    (Code.INVALID_ARGUMENT, "INVALID_REQUEST", 400, "invalid_request_error", None),
    (Code.OUT_OF_RANGE, None, 400, "invalid_request_error", None),
    (Code.FAILED_PRECONDITION, "FAILED_PRECONDITION", 400, "invalid_request_error", None),
    (Code.UNAUTHENTICATED, "INVALID_TOKEN", 401, "invalid_request_error", "invalid_api_key"),
    (Code.UNAUTHENTICATED, "MISSING_CREDENTIALS", 401, "invalid_request_error", "invalid_api_key"),
    (Code.PERMISSION_DENIED, "PERMISSION_DENIED", 403, "permission_denied_error", None),
    (Code.NOT_FOUND, "NOT_FOUND", 404, "not_found_error", None),
    (Code.NOT_FOUND, "MODEL_NOT_FOUND", 404, "not_found_error", "model_not_found"),
    (Code.ALREADY_EXISTS, "ALREADY_EXISTS", 409, "invalid_request_error", None),
    (Code.RESOURCE_EXHAUSTED, "RATE_LIMITED", 429, "rate_limit_error", "rate_limit_exceeded"),
    (Code.RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED", 429, "insufficient_quota", "insufficient_quota"),
    (Code.UNIMPLEMENTED, "UNSUPPORTED", 501, "invalid_request_error", None),
    (Code.UNAVAILABLE, "UPSTREAM_UNAVAILABLE", 503, "server_error", None),
    (Code.DEADLINE_EXCEEDED, "UPSTREAM_TIMEOUT", 504, "timeout_error", None),
    (Code.CANCELLED, None, 499, "cancelled", None),
    (Code.INTERNAL, "INTERNAL", 500, "server_error", None),
    (Code.UNKNOWN, None, 500, "server_error", None),
]


@pytest.mark.parametrize(("code", "reason", "status", "kind", "error_code"), ROWS)
def test_table_row(code: Code, reason: str | None, status: int, kind: str, error_code: str | None) -> None:
    error = from_status(code, "what happened", trailers(reason) if reason else None)
    assert (error.status, error.type, error.code) == (status, kind, error_code)
    body = error.body()["error"]
    assert set(body) == {"message", "type", "param", "code"}
    assert body["message"]


def test_invalid_argument_param_from_field_violation() -> None:
    error = from_status(Code.INVALID_ARGUMENT, "too long", trailers("INVALID_REQUEST", field="messages[2].content"))
    assert error.param == "messages[2].content" and error.message == "too long"


def test_rate_limit_headers() -> None:
    metadata = {"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-requests": "1s", "other": "x"}
    error = from_status(Code.RESOURCE_EXHAUSTED, "slow down", trailers("RATE_LIMITED", metadata, retry_after=0.2))
    assert error.headers == {
        "retry-after": "1",
        "retry-after-ms": "200",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-requests": "1s",
    }


@pytest.mark.parametrize(
    ("code", "reason"), [(Code.ALREADY_EXISTS, "ALREADY_EXISTS"), (Code.RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED")]
)
def test_should_not_retry(code: Code, reason: str) -> None:
    assert from_status(code, "no", trailers(reason)).headers["x-should-retry"] == "false"


@pytest.mark.parametrize(
    ("upstream_status", "code", "kind"),
    [
        ("400", Code.INVALID_ARGUMENT, "invalid_request_error"),
        ("418", Code.INVALID_ARGUMENT, "invalid_request_error"),
        ("422", Code.INVALID_ARGUMENT, "invalid_request_error"),
        ("429", Code.RESOURCE_EXHAUSTED, "rate_limit_error"),
        ("500", Code.INTERNAL, "server_error"),
        ("502", Code.INTERNAL, "server_error"),
    ],
)
def test_upstream_error_keeps_exact_status_and_message(upstream_status: str, code: Code, kind: str) -> None:
    metadata = {"upstream_status": upstream_status}
    for reason in ("UPSTREAM_ERROR", "ERROR_REASON_UPSTREAM_ERROR"):
        error = from_status(code, "Upstream: model overloaded", trailers(reason, metadata))
        assert error.status == int(upstream_status)
        assert error.message == "Upstream: model overloaded"
        assert error.type == kind


def test_upstream_code_passes_through_but_the_type_is_ours() -> None:
    metadata = {"upstream_status": "400", "upstream_type": "sk-leaked-key", "upstream_code": "context_length"}
    error = from_status(Code.INVALID_ARGUMENT, "too long", trailers("UPSTREAM_ERROR", metadata, field="messages"))
    assert (error.status, error.code, error.param) == (400, "context_length", "messages")
    assert error.type == "invalid_request_error"


def test_upstream_status_out_of_range_falls_back_to_table() -> None:
    error = from_status(Code.INTERNAL, "odd", trailers("UPSTREAM_ERROR", {"upstream_status": "200"}))
    assert error.status == 500


@pytest.mark.parametrize(
    "code", [Code.UNKNOWN, Code.INTERNAL, Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.CANCELLED]
)
def test_foreign_5xx_messages_are_replaced(code: Code) -> None:
    leaked = "Unexpected <class 'RuntimeError'>: Traceback (most recent call last):\n  File \"x.py\""
    error = from_status(code, leaked, None)
    assert "Traceback" not in error.message and "x.py" not in error.message


def test_core_internal_message_is_kept() -> None:
    error = from_status(Code.INTERNAL, "internal error (request id abc)", None)
    assert error.message == "internal error (request id abc)"


def test_core_unavailable_message_is_kept_with_details() -> None:
    error = from_status(Code.UNAVAILABLE, "every deployment failed", trailers("UPSTREAM_UNAVAILABLE"))
    assert error.message == "every deployment failed"


def test_malformed_details_are_ignored() -> None:
    details = parse_details(((STATUS_DETAILS_KEY, b"\xff\xff garbage"), ("other", "x")))
    assert details.reason is None and details.field is None
    assert from_status(Code.NOT_FOUND, "gone", ((STATUS_DETAILS_KEY, b"\xff\xff"),)).status == 404


@pytest.mark.parametrize(
    ("text", "status", "kind"),
    [
        ("CLIENT: Sent message larger than max (70000000 vs. 68157440)", 413, "invalid_request_error"),
        ("SERVER: Received message larger than max (70000000 vs. 68157440)", 413, "invalid_request_error"),
        ("CLIENT: Received message larger than max (80000000 vs. 68157440)", 502, "server_error"),
        ("SERVER: Sent message larger than max (80000000 vs. 68157440)", 502, "server_error"),
    ],
)
def test_grpc_message_size_errors_are_never_a_rate_limit(text: str, status: int, kind: str) -> None:
    # gRPC's own RESOURCE_EXHAUSTED carries no aqueduct ErrorInfo: a 413 or 502 that is not to be retried, and
    # the gRPC text stays out of the answer.
    error = from_status(Code.RESOURCE_EXHAUSTED, text, None)
    assert (error.status, error.type) == (status, kind)
    assert error.headers["x-should-retry"] == "false"
    assert "larger than max" not in error.message
