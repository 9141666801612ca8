from __future__ import annotations

import email.utils
import time

import aiohttp
import grpc
import orjson
import pytest

from core.errors import AqueductError, UpstreamTimeout, UpstreamUnavailable
from core.providers.upstream_errors import (
    error_from_event,
    error_from_status,
    error_from_transport,
    parse_retry_after,
    redirect_error,
)

KEY = "sk-upstream-very-secret"


def test_openai_error_body_keeps_upstream_message_type_code_param_and_hides_the_key() -> None:
    body = orjson.dumps(
        {
            "error": {
                "message": f"Incorrect API key provided: {KEY}.",
                "type": "invalid_request_error",
                "param": "model",
                "code": "invalid_api_key",
            }
        }
    )
    err = error_from_status(401, body, {}, (KEY,))
    assert KEY not in err.message
    assert err.message == "Incorrect API key provided: ***."
    assert err.upstream_status == 401
    assert err.code == grpc.StatusCode.UNAUTHENTICATED
    assert err.field == "model"
    assert err.metadata == {
        "upstream_status": "401",
        "upstream_type": "invalid_request_error",
        "upstream_code": "invalid_api_key",
    }


def test_rate_limit_carries_retry_after() -> None:
    err = error_from_status(429, b'{"error": {"message": "slow down"}}', {"retry-after": "3"}, ())
    assert (err.message, err.retry_after, err.code) == ("slow down", 3.0, grpc.StatusCode.RESOURCE_EXHAUSTED)


def test_non_json_error_body_gets_a_generic_message() -> None:
    err = error_from_status(502, b"<html>bad gateway</html>", {}, ())
    assert err.message == "The upstream returned HTTP 502."
    assert err.code == grpc.StatusCode.INTERNAL


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5
    date = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 < (parse_retry_after({"retry-after": date}) or 0) <= 60
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_in_band_stream_error_uses_its_code_as_status() -> None:
    err = error_from_event({"message": "context too long", "type": "BadRequestError", "code": 400}, ())
    assert (err.upstream_status, err.message, err.metadata["upstream_code"]) == (400, "context too long", "400")
    assert error_from_event("boom", ()).upstream_status == 502


def _transport(exc: BaseException) -> AqueductError:
    return error_from_transport(exc, "m", "m#0", "http://10.1.2.3:8000")


def test_transport_errors_map_to_timeout_or_unavailable_and_the_log_keeps_the_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert isinstance(_transport(aiohttp.SocketTimeoutError("t")), UpstreamTimeout)
    assert isinstance(_transport(aiohttp.ConnectionTimeoutError("t")), UpstreamTimeout)
    assert isinstance(_transport(TimeoutError()), UpstreamTimeout)
    assert isinstance(_transport(aiohttp.ServerDisconnectedError()), UpstreamUnavailable)
    assert isinstance(_transport(aiohttp.ClientPayloadError("cut")), UpstreamUnavailable)
    assert isinstance(_transport(ConnectionResetError(104, "reset")), UpstreamUnavailable)
    cause = OSError("certificate verify failed: unable to get local issuer certificate")
    try:
        raise aiohttp.ClientOSError("cannot connect to 10.1.2.3:8000") from cause
    except aiohttp.ClientOSError as exc:
        error = _transport(exc)
    assert isinstance(error, UpstreamUnavailable)
    assert "`m`" in error.message and "10.1.2.3" not in error.message and "certificate" not in error.message
    logged = caplog.records[-1].getMessage()
    assert "m#0" in logged and "cannot connect to 10.1.2.3:8000" in logged and "certificate verify failed" in logged


def test_a_redirect_is_a_502_naming_the_location_without_its_query_or_credentials() -> None:
    err = redirect_error(301, "https://u:p@upstream.example/v1/chat/completions?sig=" + KEY, (KEY,))
    assert (err.upstream_status, err.code) == (502, grpc.StatusCode.INTERNAL)
    assert "HTTP 301" in err.message and "https://upstream.example/v1/chat/completions" in err.message
    assert KEY not in err.message and "u:p" not in err.message and "sig" not in err.message
    assert "neither a result nor an error" in redirect_error(304, None, ()).message


def test_headers_may_be_a_plain_mapping_of_lower_case_names() -> None:
    err = error_from_status(429, b"", dict([("retry-after-ms", "250"), ("x-other", "1")]), ())
    assert err.retry_after == 0.25
