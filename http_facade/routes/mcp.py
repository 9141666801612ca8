"""The MCP proxy routes: `GET /mcp-servers` and `/mcp-servers/{name}/mcp` (POST, GET, DELETE), each with and
without `/v1`. Translation only: the HTTP request's MCP headers and raw body go to core's McpService, and its
frames come back as the HTTP answer, each written as soon as it arrives (an event stream is never buffered)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc
from aqueduct.v1 import mcp_service_pb2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..edge import EdgeRejection, check_credential, read_body
from ..errors import OpenAIError, cancelled, from_rpc_error
from ..forwarding import Forwarded
from ..mcp_edge import check_host_and_origin, mcp_error_response
from ..responses import json_response
from ._common import Endpoint, RouteDeps

log = logging.getLogger("aqueduct.facade.mcp")

LIST_ENDPOINT = "GET /v1/mcp-servers"
LIST_PAGE_SIZE = 1000
SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"
# Client headers carried to core under their own names (besides those with a field of their own).
_PASSED = ("mcp-method", "mcp-name", "traceparent", "tracestate")
_PARAM_PREFIX = "mcp-param-"
_NO_BODY_STATUSES = (202, 204)


def _http_facts(request: Request) -> mcp_service_pb2.McpHttpRequest:
    h = request.headers
    extra = {name: value for name, value in h.items() if name in _PASSED or name.startswith(_PARAM_PREFIX)}
    return mcp_service_pb2.McpHttpRequest(
        session_id=h.get(SESSION_HEADER, ""),
        protocol_version=h.get(VERSION_HEADER, ""),
        accept=h.get("accept", ""),
        content_type=h.get("content-type", ""),
        last_event_id=h.get("last-event-id", ""),
        headers=extra,
    )


def _resource(request: Request) -> str:
    return f"mcpServers/{request.path_params['name']}"


def _endpoint(method: str, request: Request) -> str:
    return f"{method} /v1/mcp-servers/{request.path_params['name']}/mcp"


class FramesResponse(Response):
    """Core's frames as the HTTP answer: the head frame gives status and headers; each data frame is written
    at once. A client that goes away cancels the call (core then stops the upstream and records 499)."""

    def __init__(self, call: Any, head: Any, headers: dict[str, str]) -> None:
        super().__init__(status_code=head.http_status)
        self._call = call
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        if head.content_type:
            raw.append((b"content-type", head.content_type.encode("latin-1")))
            if head.content_type.startswith("text/event-stream"):
                raw += [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]
        if head.session_id:
            raw.append((SESSION_HEADER.encode(), head.session_id.encode("latin-1")))
        if head.protocol_version:
            raw.append((VERSION_HEADER.encode(), head.protocol_version.encode("latin-1")))
        self.raw_headers = raw

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.ensure_future(self._watch(receive))
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            while (message := await self._call.read()) is not grpc.aio.EOF:
                await send({"type": "http.response.body", "body": message.frame.data, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except grpc.aio.AioRpcError as exc:
            # After the head the answer can only end: the client sees a truncated body or stream.
            log.info("MCP answer ended early: %s", exc.details())
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
        finally:
            watcher.cancel()
            self._call.cancel()

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._call.cancel()
                return


async def _start(call: Any, fwd: Forwarded) -> Response:
    """Waits for the head frame; an error before it is an ordinary HTTP error in the JSON-RPC envelope."""
    try:
        first = await call.read()
        metadata = await call.initial_metadata()
    except grpc.aio.AioRpcError as exc:
        return mcp_error_response(from_rpc_error(exc), fwd.request_id, exc.trailing_metadata())
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        return mcp_error_response(cancelled(), fwd.request_id)
    if first is grpc.aio.EOF or not first.frame.HasField("head"):
        call.cancel()
        return mcp_error_response(OpenAIError(502, "The MCP server sent no answer.", "server_error"), fwd.request_id)
    headers = {"x-request-id": fwd.request_id}
    for key, value in metadata or ():
        if key.startswith("x-ratelimit-") and isinstance(value, str):
            headers[key] = value
    head = first.frame.head
    if head.http_status in _NO_BODY_STATUSES:
        call.cancel()
        return Response(status_code=head.http_status, headers=headers)
    return FramesResponse(call, head, headers)


def routes(deps: RouteDeps) -> list[Route]:
    settings = deps.settings

    def _edge(request: Request, fwd: Forwarded) -> Response | None:
        rejected = check_host_and_origin(request, settings.mcp_allowed_hosts, settings.mcp_allowed_origins)
        if rejected is None:
            try:
                check_credential(fwd)
            except EdgeRejection as exc:
                rejected = exc.error
        return None if rejected is None else mcp_error_response(rejected, fwd.request_id)

    async def post_message(request: Request) -> Response:
        fwd = deps.forward(request, _endpoint("POST", request))
        if (answer := _edge(request, fwd)) is not None:
            return answer
        try:
            body = await read_body(request, settings.max_request_body_bytes, fwd)
        except EdgeRejection as exc:
            return mcp_error_response(exc.error, fwd.request_id)
        call = deps.core.mcp.SendMcpMessage(
            mcp_service_pb2.SendMcpMessageRequest(mcp_server=_resource(request), http=_http_facts(request), body=body),
            metadata=fwd.metadata,
        )
        return await _start(call, fwd)

    async def open_stream(request: Request) -> Response:
        fwd = deps.forward(request, _endpoint("GET", request))
        if (answer := _edge(request, fwd)) is not None:
            return answer
        call = deps.core.mcp.OpenMcpEventStream(
            mcp_service_pb2.OpenMcpEventStreamRequest(mcp_server=_resource(request), http=_http_facts(request)),
            metadata=fwd.metadata,
        )
        return await _start(call, fwd)

    async def delete_session(request: Request) -> Response:
        fwd = deps.forward(request, _endpoint("DELETE", request))
        if (answer := _edge(request, fwd)) is not None:
            return answer
        call = deps.core.mcp.DeleteMcpSession(
            mcp_service_pb2.DeleteMcpSessionRequest(mcp_server=_resource(request), http=_http_facts(request)),
            metadata=fwd.metadata,
        )
        try:
            reply = await call
        except grpc.aio.AioRpcError as exc:
            return mcp_error_response(from_rpc_error(exc), fwd.request_id, exc.trailing_metadata())
        return Response(status_code=reply.head.http_status or 200, headers={"x-request-id": fwd.request_id})

    async def list_mcp_servers(request: Request) -> Response:
        fwd = deps.forward(request, LIST_ENDPOINT)
        try:
            check_credential(fwd)
        except EdgeRejection as exc:
            return mcp_error_response(exc.error, fwd.request_id)
        servers: list[dict[str, Any]] = []
        token = ""
        while True:
            call = deps.core.mcp.ListMcpServers(
                mcp_service_pb2.ListMcpServersRequest(page_size=LIST_PAGE_SIZE, page_token=token),
                metadata=fwd.metadata,
            )
            try:
                page = await call
            except grpc.aio.AioRpcError as exc:
                return mcp_error_response(from_rpc_error(exc), fwd.request_id, exc.trailing_metadata())
            for server in page.mcp_servers:
                servers.append(
                    {
                        "name": server.name.removeprefix("mcpServers/"),
                        "description": server.description,
                        "tags": list(server.tags),
                        "icon_url": server.icon_url or None,
                    }
                )
            token = page.next_page_token
            if not token:
                return json_response({"object": "list", "data": servers}, headers={"x-request-id": fwd.request_id})

    routes: list[Route] = []
    for prefix in ("/v1", ""):
        path = f"{prefix}/mcp-servers/{{name}}/mcp"
        routes += [
            Route(path, Endpoint(post_message), methods=["POST"], name="mcp_post"),
            Route(path, Endpoint(open_stream), methods=["GET"], name="mcp_get"),
            Route(path, Endpoint(delete_session), methods=["DELETE"], name="mcp_delete"),
            Route(f"{prefix}/mcp-servers", Endpoint(list_mcp_servers), methods=["GET"], name="list_mcp_servers"),
        ]
    return routes
