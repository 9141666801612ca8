from __future__ import annotations

import email.utils
import time

import grpc
import orjson

from core.errors import UpstreamTimeout, UpstreamUnavailable
from core.providers.upstream_errors import (
    error_from_event,
    error_from_status,
    error_from_transport,
    parse_retry_after,
)
from core.upstream_http import (
    ClientClosed,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    PoolTimeout,
    ReadTimeout,
    RemoteProtocolError,
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


def test_transport_errors() -> None:
    assert isinstance(error_from_transport(ReadTimeout("t"), "m"), UpstreamTimeout)
    assert isinstance(error_from_transport(ConnectTimeout("t"), "m"), UpstreamTimeout)
    assert isinstance(error_from_transport(ConnectError("refused"), "m"), UpstreamUnavailable)
    assert isinstance(error_from_transport(RemoteProtocolError("bad"), "m"), UpstreamUnavailable)
    assert isinstance(error_from_transport(ConnectionClosed("reset"), "m"), UpstreamUnavailable)
    assert isinstance(error_from_transport(PoolTimeout("busy"), "m"), UpstreamUnavailable)
    assert isinstance(error_from_transport(ClientClosed("closed"), "m"), UpstreamUnavailable)
    message = error_from_transport(ConnectError("cannot connect to 10.1.2.3:8000"), "m").message
    assert "`m`" in message and "10.1.2.3" not in message


def test_headers_may_be_a_plain_mapping_of_lower_case_names() -> None:
    err = error_from_status(429, b"", dict([("retry-after-ms", "250"), ("x-other", "1")]), ())
    assert err.retry_after == 0.25
