"""GET /health: 200 once core answers grpc.health.v1 Check (service "") with SERVING, else 503 JSON.

`details.rate_limits` says where rate-limit windows live: "redis", "in-process" (no Redis configured) or
"in-process (fallback: redis unreachable)" - core reports the last as health service RATE_LIMIT_HEALTH_SERVICE."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aqueduct_contract import RATE_LIMIT_HEALTH_SERVICE

from ..errors import OpenAIError
from ..responses import json_response
from ._common import RouteDeps, endpoint_routes


async def _details(deps: RouteDeps) -> dict[str, str]:
    try:
        answer = await deps.core.health_check(
            health_pb2.HealthCheckRequest(service=RATE_LIMIT_HEALTH_SERVICE),
            timeout=deps.settings.health_check_timeout_seconds,
        )
    except grpc.aio.AioRpcError as exc:
        return {"rate_limits": "in-process" if exc.code() == grpc.StatusCode.NOT_FOUND else "unknown"}
    if answer.status == health_pb2.HealthCheckResponse.SERVING:
        return {"rate_limits": "redis"}
    return {"rate_limits": "in-process (fallback: redis unreachable)"}


def routes(deps: RouteDeps) -> list[Route]:
    async def health(request: Request) -> Response:
        try:
            answer = await deps.core.health_check(
                health_pb2.HealthCheckRequest(service=""), timeout=deps.settings.health_check_timeout_seconds
            )
        except grpc.aio.AioRpcError as exc:
            reason = f"core is not reachable ({exc.code().name})"
        else:
            if answer.status == health_pb2.HealthCheckResponse.SERVING:
                return json_response({"status": "ok", "details": await _details(deps)})
            reason = f"core is {health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)}"
        error = OpenAIError(503, reason, "server_error")
        return json_response({"status": "unavailable", **error.body()}, 503)

    return endpoint_routes("/health", health, "GET")
