"""Domain errors. Each carries an ErrorReason and a gRPC status code; the errors interceptor turns them into
a google.rpc.Status (ErrorInfo + BadRequest / RetryInfo) so the façade's one table can render them."""

from __future__ import annotations

from typing import TypeAlias

import grpc
from aqueduct.v1 import error_reason_pb2

from aqueduct_contract import grpc_code_for_http

ErrorReason: TypeAlias = error_reason_pb2.ErrorReason.ValueType


class AqueductError(Exception):
    """Base of every error a caller may see. `message` is safe to show to the caller."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    reason: ErrorReason = error_reason_pb2.ERROR_REASON_INTERNAL

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        metadata: dict[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.metadata = dict(metadata or {})
        self.retry_after = retry_after


class InvalidRequest(AqueductError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = error_reason_pb2.ERROR_REASON_INVALID_REQUEST


class MissingCredentials(AqueductError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = error_reason_pb2.ERROR_REASON_MISSING_CREDENTIALS


class InvalidToken(AqueductError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = error_reason_pb2.ERROR_REASON_INVALID_TOKEN


class TokenExpired(AqueductError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = error_reason_pb2.ERROR_REASON_TOKEN_EXPIRED


class PermissionDenied(AqueductError):
    code = grpc.StatusCode.PERMISSION_DENIED
    reason = error_reason_pb2.ERROR_REASON_PERMISSION_DENIED


class NotFound(AqueductError):
    code = grpc.StatusCode.NOT_FOUND
    reason = error_reason_pb2.ERROR_REASON_NOT_FOUND


class ModelNotFound(NotFound):
    reason = error_reason_pb2.ERROR_REASON_MODEL_NOT_FOUND


def model_not_found(name: str) -> ModelNotFound:
    """The one answer for a model the caller may not use, whether it does not exist or is excluded for the
    caller: the words must be identical so that an exclusion is not observable."""
    return ModelNotFound(f"The model `{name}` does not exist or you do not have access to it.", field="model")


class AlreadyExists(AqueductError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = error_reason_pb2.ERROR_REASON_ALREADY_EXISTS


class FailedPrecondition(AqueductError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = error_reason_pb2.ERROR_REASON_FAILED_PRECONDITION


class RateLimited(AqueductError):
    """`metadata` carries the x-ratelimit-* values; `retry_after` is seconds."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = error_reason_pb2.ERROR_REASON_RATE_LIMITED


class QuotaExceeded(AqueductError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = error_reason_pb2.ERROR_REASON_QUOTA_EXCEEDED


class UpstreamTimeout(AqueductError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED
    reason = error_reason_pb2.ERROR_REASON_UPSTREAM_TIMEOUT


class UpstreamUnavailable(AqueductError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = error_reason_pb2.ERROR_REASON_UPSTREAM_UNAVAILABLE


# An upstream's own error text is shown to the caller, stored in usage records and logged: this bounds it.
MAX_UPSTREAM_MESSAGE_CHARS = 1024


def clipped(text: str, limit: int = MAX_UPSTREAM_MESSAGE_CHARS) -> str:
    """`text` cut to at most `limit` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class UpstreamError(AqueductError):
    """The upstream answered with an HTTP error (or broke the protocol). The caller gets `status`: the
    upstream's own by default, a gateway status (502) when the upstream's would mislead the caller (an upstream
    401 is not the caller's token being wrong). It travels in metadata["upstream_status"], which the façade
    answers with; a different raw status in metadata["upstream_http_status"]. `upstream_status` (the raw one)
    drives retries and health. The message is bounded; providers scrub it (core.providers.upstream_errors)
    and give only codes and params from closed sets, never the upstream's free-form `type`."""

    reason = error_reason_pb2.ERROR_REASON_UPSTREAM_ERROR

    def __init__(
        self,
        message: str,
        *,
        upstream_status: int,
        status: int | None = None,
        upstream_code: str | None = None,
        upstream_param: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        answered = upstream_status if status is None else status
        metadata = {"upstream_status": str(answered)}
        if answered != upstream_status:
            metadata["upstream_http_status"] = str(upstream_status)
        if upstream_code:
            metadata["upstream_code"] = upstream_code
        super().__init__(clipped(message), field=upstream_param, metadata=metadata, retry_after=retry_after)
        self.upstream_status = upstream_status
        self.status = answered
        # The code whose row in the one table gives the caller the same status class back.
        self.code = grpc_code_for_http(answered)
