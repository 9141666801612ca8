"""The wire contract between the façade (or any gRPC caller) and core that the proto files cannot express:
metadata keys, response header names, service-level names and limits, and the one gRPC-status <-> HTTP table.

Written once here and imported by both sides (core and http_facade never import each other). A leaf: it
imports nothing of ours except the generated stubs."""

from aqueduct_contract.metadata import (
    AUTHORIZATION,
    CLIENT_ADDR,
    DEPLOYMENT,
    ENDPOINT,
    FACADE_CREDENTIAL,
    MODEL_GROUP,
    REQUEST_ID,
    RESPONSE_HEADERS,
    SHOULD_RETRY,
    USER_AGENT,
    is_response_header,
)
from aqueduct_contract.services import (
    DEFAULT_MAX_REQUEST_BODY_BYTES,
    MAX_MESSAGE_BYTES,
    PUBLIC_METHOD_PREFIXES,
    RATE_LIMIT_HEALTH_SERVICE,
    grpc_message_limit,
)
from aqueduct_contract.status import (
    CLIENT_CLOSED_REQUEST,
    GRPC_TO_HTTP,
    HttpRow,
    grpc_code_for_http,
    http_row,
    http_status,
)

__all__ = [
    "AUTHORIZATION",
    "CLIENT_ADDR",
    "CLIENT_CLOSED_REQUEST",
    "DEFAULT_MAX_REQUEST_BODY_BYTES",
    "DEPLOYMENT",
    "ENDPOINT",
    "FACADE_CREDENTIAL",
    "GRPC_TO_HTTP",
    "MAX_MESSAGE_BYTES",
    "MODEL_GROUP",
    "PUBLIC_METHOD_PREFIXES",
    "RATE_LIMIT_HEALTH_SERVICE",
    "REQUEST_ID",
    "RESPONSE_HEADERS",
    "SHOULD_RETRY",
    "USER_AGENT",
    "HttpRow",
    "grpc_code_for_http",
    "grpc_message_limit",
    "http_row",
    "http_status",
    "is_response_header",
]
