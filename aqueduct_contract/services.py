"""Service-level facts of core's gRPC server that its callers rely on."""

from __future__ import annotations

# Health and reflection answer without a token: load balancers and grpcurl must reach them.
PUBLIC_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

# grpc.health.v1 service name of the shared rate-limit store: SERVING while Redis holds the windows,
# NOT_SERVING while the in-process fallback does; unknown (NOT_FOUND) when no Redis is configured.
RATE_LIMIT_HEALTH_SERVICE = "aqueduct.limits.redis"

# Smallest limit on a gRPC message either side sends or accepts: messages carry whole embedding batches,
# image-laden requests and long prompts, so gRPC's 4 MB default is too small.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

# Largest JSON request body the façade accepts (413 above it); core's `max_request_body_bytes` setting.
DEFAULT_MAX_REQUEST_BODY_BYTES = 32 * 1024 * 1024


def grpc_message_limit(max_request_body_bytes: int) -> int:
    """The gRPC message limit of core's server and of the façade's channel, derived from the HTTP body cap so
    that a body the façade accepts always fits: its protobuf is at most about twice the JSON (numbers written
    tersely in JSON, e.g. token ids, take up to ~2x as varints plus tags), plus room for metadata."""
    return max(MAX_MESSAGE_BYTES, 2 * max_request_body_bytes + 1024 * 1024)
