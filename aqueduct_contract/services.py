"""Service-level facts of core's gRPC server that its callers rely on."""

from __future__ import annotations

# Health and reflection answer without a token: load balancers and grpcurl must reach them.
PUBLIC_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

# grpc.health.v1 service name of the shared rate-limit store: SERVING while Redis holds the windows,
# NOT_SERVING while the in-process fallback does; unknown (NOT_FOUND) when no Redis is configured.
RATE_LIMIT_HEALTH_SERVICE = "aqueduct.limits.redis"

# Largest gRPC message either side sends or accepts: messages carry whole embedding batches, image-laden
# requests and long prompts, so gRPC's 4 MB default is too small.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
