"""McpService servicer: proto in, McpProxy call, frames out. JSON-RPC payloads stay bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aqueduct.v1 import mcp_server_pb2, mcp_service_pb2, mcp_service_pb2_grpc

from core.auth.principal import current_principal
from core.mcp.proxy import Head, HttpFacts, McpProxy
from core.mcp.registry import McpServerEntry
from core.mcp.status import probe
from core.pagination import paginate_items
from core.services._inference_call import Context, caller_of

_SEND = "/aqueduct.v1.McpService/SendMcpMessage"
_OPEN = "/aqueduct.v1.McpService/OpenMcpEventStream"
_DELETE = "/aqueduct.v1.McpService/DeleteMcpSession"


def _server_message(server: McpServerEntry) -> mcp_server_pb2.McpServer:
    return mcp_server_pb2.McpServer(
        name=server.resource_name,
        description=server.description,
        tags=server.tags,
        icon_url=server.icon_url,
        transport=server.transport,
    )


def _http(message: mcp_service_pb2.McpHttpRequest) -> HttpFacts:
    return HttpFacts(
        session_id=message.session_id,
        protocol_version=message.protocol_version,
        accept=message.accept,
        content_type=message.content_type,
        last_event_id=message.last_event_id,
        headers={k.lower(): v for k, v in message.headers.items()},
    )


def _head(head: Head) -> mcp_server_pb2.McpResponseHead:
    return mcp_server_pb2.McpResponseHead(
        http_status=head.status,
        content_type=head.content_type,
        session_id=head.session_id,
        protocol_version=head.protocol_version,
    )


class McpServicer(mcp_service_pb2_grpc.McpServiceServicer):
    def __init__(self, proxy: McpProxy) -> None:
        self._proxy = proxy

    async def ListMcpServers(
        self, request: mcp_service_pb2.ListMcpServersRequest, context: Context
    ) -> mcp_service_pb2.ListMcpServersResponse:
        servers = self._proxy.visible(current_principal())
        page = paginate_items(
            servers, key_of=lambda s: s.name, page_size=request.page_size, page_token=request.page_token
        )
        return mcp_service_pb2.ListMcpServersResponse(
            mcp_servers=[_server_message(s) for s in page.items], next_page_token=page.next_page_token
        )

    async def SendMcpMessage(
        self, request: mcp_service_pb2.SendMcpMessageRequest, context: Context
    ) -> AsyncIterator[mcp_service_pb2.SendMcpMessageResponse]:
        # Frames go out through context.write from inside the proxy call (see ChatServicer.StreamChatCompletion).
        async def head(value: Head) -> None:
            frame = mcp_server_pb2.McpResponseFrame(head=_head(value))
            await context.write(mcp_service_pb2.SendMcpMessageResponse(frame=frame))

        async def data(value: bytes) -> None:
            frame = mcp_server_pb2.McpResponseFrame(data=value)
            await context.write(mcp_service_pb2.SendMcpMessageResponse(frame=frame))

        async def admitted(headers: dict[str, str]) -> None:
            await context.send_initial_metadata(tuple(headers.items()))

        await self._proxy.send(
            caller_of(context, _SEND), request.mcp_server, _http(request.http), request.body, head, data, admitted
        )
        return
        yield

    async def OpenMcpEventStream(
        self, request: mcp_service_pb2.OpenMcpEventStreamRequest, context: Context
    ) -> AsyncIterator[mcp_service_pb2.OpenMcpEventStreamResponse]:
        async def head(value: Head) -> None:
            await context.send_initial_metadata(())
            frame = mcp_server_pb2.McpResponseFrame(head=_head(value))
            await context.write(mcp_service_pb2.OpenMcpEventStreamResponse(frame=frame))

        async def data(value: bytes) -> None:
            frame = mcp_server_pb2.McpResponseFrame(data=value)
            await context.write(mcp_service_pb2.OpenMcpEventStreamResponse(frame=frame))

        await self._proxy.open_stream(caller_of(context, _OPEN), request.mcp_server, _http(request.http), head, data)
        return
        yield

    async def DeleteMcpSession(
        self, request: mcp_service_pb2.DeleteMcpSessionRequest, context: Context
    ) -> mcp_service_pb2.DeleteMcpSessionResponse:
        head = await self._proxy.delete_session(caller_of(context, _DELETE), request.mcp_server, _http(request.http))
        return mcp_service_pb2.DeleteMcpSessionResponse(head=_head(head))

    async def GetMcpServerStatus(
        self, request: mcp_service_pb2.GetMcpServerStatusRequest, context: Context
    ) -> mcp_service_pb2.GetMcpServerStatusResponse:
        server = self._proxy.operator_server(current_principal(), request.name)
        status = await probe(self._proxy.upstream, self._proxy.sessions, server)
        return mcp_service_pb2.GetMcpServerStatusResponse(
            status=mcp_server_pb2.McpServerStatus(
                name=status.name,
                reachable=status.reachable,
                error=status.error,
                protocol_versions=status.protocol_versions,
                open_sessions=status.open_sessions,
            )
        )
