"""POST /v1/images/generations."""

from __future__ import annotations

from typing import Any

from aqueduct.v1 import media_pb2, media_service_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aqueduct_openai import image_params_from_json, images_response_to_json, reject_image_stream

from ._common import BadRequest, RouteDeps, endpoint_routes, parse_body, unary

ENDPOINT = "POST /v1/images/generations"


def _params(body: Any) -> media_pb2.ImageGenerationParams:
    reject_image_stream(body)
    return image_params_from_json(body)


def _render(response: media_service_pb2.CreateImageResponse) -> dict[str, Any]:
    return images_response_to_json(response.images)


def routes(deps: RouteDeps) -> list[Route]:
    async def create_image(request: Request) -> Response:
        fwd = deps.forward(request, ENDPOINT)
        try:
            params, _ = await parse_body(request, _params, fwd, deps.settings)
        except BadRequest as bad:
            return bad.response
        call = deps.core.media.CreateImage(media_service_pb2.CreateImageRequest(params=params), metadata=fwd.metadata)
        return await unary(call, _render, fwd, request)

    return endpoint_routes("/images/generations", create_image, "POST")
