"""/v1/batches: create, list, get and cancel, translated to core's BatchService."""

from __future__ import annotations

from typing import Any

from aqueduct.v1 import batch_service_pb2 as pb
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aqueduct_openai import batch_create_from_json, batch_to_json, list_json

from ..errors import error_response, invalid_request
from ._common import BadRequest, RouteDeps, endpoint_routes, parse_body, unary
from ._listing import list_params


def routes(deps: RouteDeps) -> list[Route]:
    async def create_batch(request: Request) -> Response:
        fwd = deps.forward(request, "POST /v1/batches")
        try:
            (input_file, endpoint, window, metadata), _ = await parse_body(
                request, batch_create_from_json, fwd, deps.settings
            )
        except BadRequest as bad:
            return bad.response
        call = deps.core.batches.CreateBatch(
            pb.CreateBatchRequest(
                input_file=f"files/{input_file}", endpoint=endpoint, completion_window=window, metadata=metadata
            ),
            metadata=fwd.metadata,
        )
        return await unary(call, lambda r: batch_to_json(r.batch), fwd, request)

    async def list_batches(request: Request) -> Response:
        fwd = deps.forward(request, "GET /v1/batches")
        try:
            limit, after, _ = list_params(request)
        except ValueError as exc:
            return error_response(invalid_request(str(exc.args[0]), exc.args[1]), fwd.request_id)
        call = deps.core.batches.ListBatches(pb.ListBatchesRequest(page_size=limit, after=after), metadata=fwd.metadata)

        def render(r: pb.ListBatchesResponse) -> dict[str, Any]:
            return list_json([batch_to_json(b) for b in r.batches], bool(r.next_page_token))

        return await unary(call, render, fwd, request)

    async def get_batch(request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        fwd = deps.forward(request, "GET /v1/batches/{batch_id}")
        call = deps.core.batches.GetBatch(pb.GetBatchRequest(name=f"batches/{batch_id}"), metadata=fwd.metadata)
        return await unary(call, lambda r: batch_to_json(r.batch), fwd, request)

    async def cancel_batch(request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        fwd = deps.forward(request, "POST /v1/batches/{batch_id}/cancel")
        call = deps.core.batches.CancelBatch(pb.CancelBatchRequest(name=f"batches/{batch_id}"), metadata=fwd.metadata)
        return await unary(call, lambda r: batch_to_json(r.batch), fwd, request)

    return [
        *endpoint_routes("/batches", create_batch, "POST"),
        *endpoint_routes("/batches", list_batches, "GET"),
        *endpoint_routes("/batches/{batch_id}/cancel", cancel_batch, "POST"),
        *endpoint_routes("/batches/{batch_id}", get_batch, "GET"),
    ]
