"""The one gRPC <-> HTTP table (aqueduct_contract.status) row by row against DESIGN.md §4, its inverse for
upstream statuses, and the readers in core (upstream errors, usage outcomes) and the façade."""

from __future__ import annotations

import grpc
import pytest

from aqueduct_contract import GRPC_TO_HTTP, HttpRow, grpc_code_for_http, http_row, http_status
from core.errors import ModelNotFound, QuotaExceeded, RateLimited, UpstreamError
from core.inference.outcome import outcome_of
from http_facade.errors import from_status

Code = grpc.StatusCode

# DESIGN.md §4: (code, ErrorInfo reason, HTTP status, error.type, error.code, x-should-retry)
DESIGN_ROWS = [
    (Code.INVALID_ARGUMENT, None, 400, "invalid_request_error", None, None),
    (Code.OUT_OF_RANGE, None, 400, "invalid_request_error", None, None),
    (Code.FAILED_PRECONDITION, None, 400, "invalid_request_error", None, None),
    (Code.UNAUTHENTICATED, None, 401, "invalid_request_error", "invalid_api_key", None),
    (Code.PERMISSION_DENIED, None, 403, "permission_denied_error", None, None),
    (Code.NOT_FOUND, None, 404, "not_found_error", None, None),
    (Code.ALREADY_EXISTS, None, 409, "invalid_request_error", None, False),
    (Code.ABORTED, None, 409, "invalid_request_error", None, None),
    (Code.RESOURCE_EXHAUSTED, "RATE_LIMITED", 429, "rate_limit_error", "rate_limit_exceeded", None),
    (Code.RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED", 429, "insufficient_quota", "insufficient_quota", False),
    (Code.UNIMPLEMENTED, None, 501, "invalid_request_error", None, None),
    (Code.UNAVAILABLE, None, 503, "server_error", None, None),
    (Code.DEADLINE_EXCEEDED, None, 504, "timeout_error", None, None),
    (Code.CANCELLED, None, 499, "cancelled", None, None),
    (Code.INTERNAL, None, 500, "server_error", None, None),
    (Code.UNKNOWN, None, 500, "server_error", None, None),
    (Code.DATA_LOSS, None, 500, "server_error", None, None),
]


@pytest.mark.parametrize(("code", "reason", "status", "kind", "error_code", "retry"), DESIGN_ROWS)
def test_row(
    code: Code, reason: str | None, status: int, kind: str, error_code: str | None, retry: bool | None
) -> None:
    assert http_row(code, reason) == HttpRow(status, kind, error_code, retry)
    assert http_status(code) == status
    # The façade answers with the row (no details: the plain status).
    if reason is None:
        error = from_status(code, "m", None)
        assert (error.status, error.type) == (status, kind)
        assert error.headers.get("x-should-retry") == {None: None, False: "false", True: "true"}[retry]


def test_every_status_code_but_ok_has_a_row() -> None:
    assert set(GRPC_TO_HTTP) == set(Code) - {Code.OK}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 429, 500, 501, 503, 504])
def test_an_upstream_status_comes_back_through_its_code(status: int) -> None:
    assert http_status(grpc_code_for_http(status)) == status


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (408, Code.DEADLINE_EXCEEDED),
        (422, Code.INVALID_ARGUMENT),
        (418, Code.INVALID_ARGUMENT),
        (499, Code.INVALID_ARGUMENT),  # an upstream's 499 is not the caller cancelling
        (502, Code.INTERNAL),
        (409, Code.ALREADY_EXISTS),
    ],
)
def test_statuses_without_a_row_of_their_own(status: int, code: Code) -> None:
    assert grpc_code_for_http(status) == code


def test_core_reads_the_table() -> None:
    assert UpstreamError("slow down", upstream_status=429).code == Code.RESOURCE_EXHAUSTED
    assert UpstreamError("teapot", upstream_status=418).code == Code.INVALID_ARGUMENT
    assert outcome_of(UpstreamError("bad gateway", upstream_status=502)) == (502, "bad gateway")
    assert outcome_of(ModelNotFound("no such model")) == (404, "no such model")
    assert outcome_of(RateLimited("slow down"))[0] == outcome_of(QuotaExceeded("spent"))[0] == 429
