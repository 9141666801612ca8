from __future__ import annotations

import email.utils
import time

import aiohttp
import grpc
import orjson
import pytest

from core.errors import AqueductError, UpstreamTimeout, UpstreamUnavailable
from core.providers.scrubbing import Scrubber
from core.providers.upstream_errors import (
    error_from_event,
    error_from_status,
    error_from_transport,
    parse_retry_after,
    redirect_error,
)

KEY = "upstream-very-secret"  # not sk-shaped: found because it is configured, not by its looks
SCRUB = Scrubber((KEY,))


def test_only_the_scrubbed_message_and_closed_set_code_and_param_pass_the_key_nowhere() -> None:
    body = orjson.dumps(
        {
            "error": {
                "message": f"Bad request for key {KEY}.",
                "type": f"Bearer {KEY}",
                "param": KEY,
                "code": f"code-{KEY}",
                "nested": {"deep": KEY},
            }
        }
    )
    err = error_from_status(400, body, {}, SCRUB, "m")
    assert err.message == "Bad request for key ***."
    assert (err.upstream_status, err.code, err.field) == (400, grpc.StatusCode.INVALID_ARGUMENT, None)
    assert err.metadata == {"upstream_status": "400"}
    assert KEY not in repr(vars(err))


def test_known_codes_and_request_params_pass() -> None:
    body = b'{"error": {"message": "too long", "type": "invalid_request_error", "param": "messages[2].content",'
    body += b' "code": "context_length_exceeded"}}'
    err = error_from_status(400, body, {}, SCRUB, "m")
    assert (err.field, err.metadata["upstream_code"]) == ("messages[2].content", "context_length_exceeded")
    assert error_from_status(400, b'{"error": {"param": "api_key"}}', {}, SCRUB, "m").field is None


def test_an_upstream_auth_failure_is_a_502_naming_the_gateway_credentials_without_the_upstream_text() -> None:
    body = b'{"error": {"message": "Incorrect API key provided: sk-up****cdef.", "code": "invalid_api_key"}}'
    for status in (401, 403):
        err = error_from_status(status, body, {}, SCRUB, "m")
        assert (err.status, err.upstream_status, err.code) == (502, status, grpc.StatusCode.INTERNAL)
        assert err.metadata == {
            "upstream_status": "502",
            "upstream_http_status": str(status),
            "upstream_code": "upstream_auth_failed",
        }
        assert "rejected the gateway's credentials" in err.message and "sk-up" not in err.message


def test_messages_are_bounded_and_credential_words_are_masked() -> None:
    body = orjson.dumps({"error": {"message": "x" * 50_000_000}})
    assert len(error_from_status(500, body, {}, SCRUB, "m").message) == 1024
    text = "Authorization: Bearer abc.def-123 and sk-other****1234 and Basic dXNlcjpwYXNz ?api_key=zzz9"
    scrubbed = Scrubber(())(text)
    assert scrubbed == "Authorization: Bearer *** and sk-*** and Basic *** ?api_key=***"


def test_rate_limit_carries_retry_after() -> None:
    err = error_from_status(429, b'{"error": {"message": "slow down"}}', {"retry-after": "3"}, SCRUB, "m")
    assert (err.message, err.retry_after, err.code) == ("slow down", 3.0, grpc.StatusCode.RESOURCE_EXHAUSTED)


def test_non_json_error_body_gets_a_generic_message() -> None:
    err = error_from_status(502, b"<html>bad gateway</html>", {}, SCRUB, "m")
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
    event = {"message": f"context too long {KEY}", "type": KEY, "param": KEY, "code": 400}
    err = error_from_event(event, SCRUB, "m")
    assert (err.upstream_status, err.message, err.metadata) == (400, "context too long ***", {"upstream_status": "400"})
    assert err.field is None
    assert error_from_event("boom", SCRUB, "m").upstream_status == 502


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
    err = redirect_error(301, "https://u:p@upstream.example/v1/chat/completions?sig=" + KEY, SCRUB)
    assert (err.upstream_status, err.code) == (502, grpc.StatusCode.INTERNAL)
    assert "HTTP 301" in err.message and "https://upstream.example/v1/chat/completions" in err.message
    assert KEY not in err.message and "u:p" not in err.message and "sig" not in err.message
    assert "neither a result nor an error" in redirect_error(304, None, SCRUB).message


def test_headers_may_be_a_plain_mapping_of_lower_case_names() -> None:
    err = error_from_status(429, b"", dict([("retry-after-ms", "250"), ("x-other", "1")]), SCRUB, "m")
    assert err.retry_after == 0.25
